"""Answer questions from the index: retrieve, answer, cite, and the `kbqa` command line."""
