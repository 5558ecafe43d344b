"""Fitted weights of the sentence scorer and the support score (written by bench/fit_answers.py)."""

# Written by: python bench/fit_answers.py --corpus CORPUS --questions QUESTIONS \
#     --leave-out 0.5 --max-chars 187 --found 0.95 --write
# on UIT-ViNewsQA dev (bench/RESULTS.md, issue 10); tuning half of the articles only.
SENTENCE = {
    "cov": 2.7932,
    "covw": 2.4661,
    "cov_single": 0.4673,
    "cov_pair": -0.4889,
    "prev_cov": -0.8779,
    "next_cov": -0.8879,
    "prev_gain": 2.6462,
    "anaphor": -0.1577,
    "anaphor_x_prev": 1.4131,
    "prev_x_uncov": -0.2094,
    "cov_x_old": -0.8891,
    "rank": -0.4084,
    "docratio": 1.6279,
    "pratio": 1.7204,
    "first": -0.5554,
    "loglen": 0.2841,
    "new": -1.2857,
    "pos": -0.1416,
    "names": -0.0894,
    "npairs": 0.0277,
    "nsingles": 0.1782,
    "asks_time": 0.3308,
    "asks_number": 0.6176,
    "asks_list": 0.1142,
    "asks_why": 0.6081,
    "asks_who": 0.0837,
    "asks_where": -0.2820,
    "asks_whatis": -0.0272,
    "asks_how": 0.3253,
}
SENTENCE_BIAS = -7.1610
SUPPORT = {
    "covw_sentence": -1.0176,
    "covw_passage": 1.8889,
    "covw_top": 1.9722,
    "corpus_share": 0.0062,
    "dense_top": 1.1555,
    "dense_gap": 0.3926,
    "bm25_top": 0.7588,
    "agree": 1.3291,
    "sentence_logit": 0.6474,
}
SUPPORT_BIAS = -2.2848
SUPPORT_THRESHOLD = 0.19  # keeps found_ok >= 0.95 on the tuning half
SENTENCE_FLOOR = 0.055  # best sentence below this probability: not found (costs <= 1 point found_ok)
SECOND_IF_BEST_BELOW = 0.1  # a second sentence joins when the best one's probability is below this
SECOND_IF_RATIO = 0.5  # … or when the second's probability is at least this share of the best one's
