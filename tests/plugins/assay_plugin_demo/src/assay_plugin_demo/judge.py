"""The judge prompt `demo_strict` (entry point group `assay.judges`): a pointwise Jinja2 template, used as
`assay judge RUN --judge MODEL --template demo_strict`. It may use question, answer, reference and rubric."""

STRICT_PROMPT = """\
You are a strict grader. Score the answer to the question on this scale: {{ rubric.title }}, from {{ rubric.min }} \
to {{ rubric.max }}. {{ rubric.criteria }}
{% if reference %}The reference answer is: {{ reference }}
{% endif %}Question: {{ question }}
Answer: {{ answer }}
Reply with JSON only: {"score": <a whole number>, "reason": "<one sentence>"}
"""
