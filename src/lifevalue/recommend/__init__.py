"""What to offer: co-occurrence rules, next-best products per customer, offline evaluation."""

from lifevalue.recommend.cooccurrence import (
    Baskets,
    PairCounts,
    association_rules,
    frequently_bought_together,
)
from lifevalue.recommend.evaluate import Evaluation, RankingMetrics, evaluate
from lifevalue.recommend.offers import Recommender

__all__ = [
    "Baskets",
    "Evaluation",
    "PairCounts",
    "RankingMetrics",
    "Recommender",
    "association_rules",
    "evaluate",
    "frequently_bought_together",
]
