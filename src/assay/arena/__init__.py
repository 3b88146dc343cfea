"""Arena leaderboards from pairwise judgments: Bradley–Terry ratings with clustered bootstrap intervals
(`bradley_terry`), Elo (`elo`), style and length control (`style`), AlpacaEval-style win rates against a
baseline (`winrate`), separability (`separability`), the null-model canary (`canary`) and the leaderboard
that puts them together (`leaderboard`). docs/arena.md describes each figure."""
