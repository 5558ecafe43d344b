"""Fitted weights of the sentence scorer and the support score (written by bench/fit_answers.py)."""

# Provisional hand-set weights; bench/fit_answers.py replaces this file with fitted ones.
SENTENCE = {"cov": 3.0, "covw": 2.0, "docratio": 1.6, "pratio": 1.0, "prev_x_uncov": 1.5, "anaphor_x_prev": 1.5}
SENTENCE_BIAS = -3.0
SUPPORT = {"covw_sentence": 3.0, "covw_passage": 2.0, "dense_top": 5.0, "corpus_share": 1.0}
SUPPORT_BIAS = -6.0
SUPPORT_THRESHOLD = 0.5
SECOND_IF_BEST_BELOW = 0.2  # a second sentence joins when the best one's probability is below this
SECOND_IF_RATIO = 0.6  # … or when the second's probability is at least this share of the best one's
