"""Fitted weights of the sentence scorer and the support score (written by bench/fit_answers.py)."""

# Written by: python bench/fit_answers.py --corpus CORPUS --questions QUESTIONS \
#     --leave-out 0.5 --max-chars 187 --found 0.95 --write
# on UIT-ViNewsQA dev (bench/RESULTS.md, issue 10); tuning half of the articles only.
SENTENCE = {
    "cov": 2.8111,
    "covw": 2.5115,
    "cov_single": 0.4714,
    "cov_pair": -0.5650,
    "prev_cov": -0.8758,
    "next_cov": -0.8053,
    "prev_gain": 2.6839,
    "anaphor": -0.1393,
    "anaphor_x_prev": 1.4818,
    "prev_x_uncov": -0.2034,
    "cov_x_old": -0.9034,
    "rank": -0.4009,
    "docratio": 1.6560,
    "pratio": 1.7346,
    "first": -0.5310,
    "loglen": 0.3041,
    "new": -1.3497,
    "pos": -0.1420,
    "names": -0.2056,
    "npairs": 0.0329,
    "nsingles": 0.1742,
    "asks_time": 0.3088,
    "asks_number": 0.7140,
    "asks_list": 0.1071,
    "asks_why": 0.5889,
    "asks_who": -0.3441,
    "asks_where": -0.2563,
    "asks_whatis": -0.0276,
    "asks_how": 0.3260,
}
SENTENCE_BIAS = -7.1942
SUPPORT = {
    "covw_sentence": -0.3126,
    "covw_passage": 1.6961,
    "covw_top": 1.6680,
    "corpus_share": -0.3062,
    "dense_top": 0.8251,
    "dense_gap": 0.2650,
    "bm25_top": 1.2484,
    "agree": 1.0294,
    "sentence_logit": 0.4570,
}
SUPPORT_BIAS = -5.0314
SUPPORT_THRESHOLD = 0.18  # keeps found_ok >= 0.95 on the tuning half
SENTENCE_FLOOR = 0.055  # best sentence below this probability: not found (costs <= 1 point found_ok)
SECOND_IF_BEST_BELOW = 0.1  # a second sentence joins when the best one's probability is below this
SECOND_IF_RATIO = 0.5  # … or when the second's probability is at least this share of the best one's
