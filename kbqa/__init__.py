"""kbqa: ask questions about a folder of articles; every answer cites its passages (kbqa.index → kbqa.qa → kbqa.ui)."""
