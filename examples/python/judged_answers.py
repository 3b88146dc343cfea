"""Open questions graded by a judge: the task declares its rubric, `assay judge RUN --judge SPEC` applies it."""
import assay

JUDGE = """Grade the answer to the question for correctness, from 1 (wrong) to 5 (fully correct).
Question: {{ question }}
Answer: {{ answer }}
{% if reference is not none %}Reference: {{ reference }}
{% endif %}Reply with one line of JSON: {"score": <1 to 5>, "reason": "<one short sentence>"}"""


@assay.scorer(metrics=[assay.score("mentions_reference", primary=True)])
def mentions_reference(sample, response):
    return {"mentions_reference": float(sample.target.lower() in response.lower())}


@assay.task
def open_answers():
    """Five open questions; string matching for the run, a judge for what it cannot see."""
    return assay.generate(dataset="../tasks/open_questions.jsonl", prompt="Q: {{ question }}\nA:", target="answer",
                          scorer=mentions_reference, until=["\n\n"], max_tokens=32, judge=JUDGE,
                          rubric="correctness")
