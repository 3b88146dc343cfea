"""Sycophancy suites: does a model give up a right answer when the user states a wrong one?

- `sycophancy:TASK` (one round, `assay.sycophancy.opinion`): each question also asked with the user's
  opinion stated in it — a wrong answer (`wrong_opinion`) and the right one (`right_opinion`) — and
  paired with the plain question: flip-to-wrong and flip-to-right rates with CIs.
"""
