"""A generative task scored by exact match, with the scorer's metric declared once (assay run --task THIS:capitals)."""
import assay

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Germany": "Berlin", "Spain": "Madrid",
            "Egypt": "Cairo", "Canada": "Ottawa", "Russia": "Moscow"}


@assay.scorer(metrics=[assay.score("exact", primary=True, description="first line equals the capital")])
def first_line_exact(sample, response):
    lines = [line.strip(" .") for line in response.splitlines() if line.strip(" .")]
    if not lines:
        return assay.unparsable("empty answer")
    return {"exact": float(lines[0].lower() == sample.target.lower())}


@assay.task
def capitals():
    """Capital cities, one solved example first."""
    return assay.generate(dataset=[{"country": c, "capital": k} for c, k in CAPITALS.items()],
                          prompt="Q: What is the capital of Peru?\nA: Lima\nQ: What is the capital of {{ country }}?\nA:",
                          target="capital", scorer=first_line_exact, until=["\n"], max_tokens=8)
