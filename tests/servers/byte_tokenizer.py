"""A byte-level transformers tokenizer built in memory (one token per UTF-8 byte, `<s>` / `</s>`, a chat
template): real HF tokenizer behaviour for backend tests, without model files or downloads."""

from __future__ import annotations

from assay.models.hf_tokenizer import HFTokenizer

CHAT_TEMPLATE = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"


def byte_tokenizer() -> HFTokenizer:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<s>"], vocab["</s>"] = len(vocab), len(vocab) + 1
    raw = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    hf = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>")
    hf.chat_template = CHAT_TEMPLATE
    return HFTokenizer("bytes", hf)
