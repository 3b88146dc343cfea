"""The prompts of question generation, of the docqa task and of faithfulness checking. Plain text (documents
may hold any characters, so no format strings); every prompt text is hashed into what it produces (the set's
header, the tasks' specs), so changing one is visible."""

from __future__ import annotations

from collections.abc import Callable

from assay.types import canonical_json, sha256_hex

QUESTION = {
    "factual": "Write one question that can be answered from the text above. Write only the question.",
    "multi_hop": "Write one question whose answer needs both paragraphs above. Write only the question.",
    "summary": "Write one question that asks for a short summary of the text above. Write only the question.",
    "no_info": "Write one question about the subject of the text above that the text does not answer. "
               "Write only the question.",
}
ANSWER = "Answer the question in one or two sentences, using only the text above."
NO_INFO_CHECK = "Does the text above answer this question? Reply with one word: yes or no."
# The gold answer of a no_info question (what a faithful system says).
NO_INFO_ANSWER = "The document does not say."

TASK_INSTRUCTION = ("Answer the question using only the document below. If the document does not contain the "
                    "answer, say that the document does not say.")

# No worked example: a small judge copies an example's claims as its own.
CLAIMS = "Split the answer above into short separate claims. Write each claim on its own line, starting with \"Claim:\"."
VERIFY = ("According to the document above, is the claim true, false, or unknown (the document does not say)? "
          "Reply with one sentence: \"The claim is true.\", \"The claim is false.\" or \"The claim is unknown.\"")

EXPECTED = {
    "question": "one line: the question, ending with '?'",
    "answer": "one line: the answer",
    "yes_no": "one word: yes or no",
    "claims": "the claims, one per line, each line starting with \"Claim:\"",
    "verdict": "one sentence: \"The claim is true.\", \"The claim is false.\" or \"The claim is unknown.\"",
}
# The judges' re-ask asks for a JSON object; these replies are plain lines, so the same turn in their words.
REASK = "Your reply could not be read: {problem}.\nReply again with only {expected}, nothing else."


def reask(kind: str) -> Callable[[str], str]:
    """The follow-up turn (sent once, by the judges' ReaskingJudge) for a reply of this kind that could not be read."""
    return lambda problem: REASK.replace("{problem}", problem).replace("{expected}", EXPECTED[kind])


def question_prompt(kind: str, evidence: list[str]) -> str:
    return "\n\n".join([*evidence, QUESTION[kind]])


def answer_prompt(evidence: list[str], question: str) -> str:
    return "\n\n".join([*evidence, f"Question: {question}\n{ANSWER}"])


def no_info_check_prompt(document: str, question: str) -> str:
    return f"{document}\n\nQuestion: {question}\n{NO_INFO_CHECK}"


def claims_prompt(question: str, answer: str) -> str:
    return f"Question: {question}\nAnswer: {answer}\n\n{CLAIMS}"


def verify_prompt(document: str, claim: str) -> str:
    return f"Document:\n{document}\n\nClaim: {claim}\n\n{VERIFY}"


def generation_prompts_sha256() -> str:
    return sha256_hex(canonical_json([QUESTION, ANSWER, NO_INFO_CHECK, NO_INFO_ANSWER, EXPECTED, REASK]))


def judging_prompts_sha256() -> str:
    return sha256_hex(canonical_json([CLAIMS, VERIFY, EXPECTED, REASK]))
