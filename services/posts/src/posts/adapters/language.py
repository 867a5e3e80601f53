"""Which language a post is written in, offline, with py3langid's bundled model.

The model ships inside the py3langid wheel (`py3langid/data/model.npz.xz`): nothing is
downloaded. It is loaded on the first detection, not at import, so a process that never
detects (the relay, `migrate`) never pays for numpy and the model.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import defaultdict

# Below this much text a guess is noise ("ok", "lol"); a CJK character counts double because
# it carries a syllable or a word, so "你好" is enough and "ok" is not.
MIN_TEXT_WEIGHT = 4
# Normalized probability the best language needs; below it the text is ambiguous. Chosen on
# samples: noise ("hello world", "haha", emoji) stays under 0.25, real short sentences pass 0.4.
MIN_CONFIDENCE = 0.4
# ...and by this much over the runner-up: "Hej, hur mår du?" is Danish 0.40 or Swedish 0.39.
MIN_LEAD = 0.1

# ISO 639-3 codes the model knows whose macrolanguage (or same language) has an ISO 639-1 code.
# Their probabilities are added to the base code's before the threshold: the model splits
# Chinese text between zh, yue and wuu, and no one of them alone looks confident.
BASE_LANGUAGE = {
    "yue": "zh",
    "wuu": "zh",  # Cantonese, Wu Chinese
    "ary": "ar",
    "arz": "ar",  # Moroccan, Egyptian Arabic
    "uzs": "uz",  # Southern Uzbek
    "sdh": "ku",  # Southern Kurdish
    "ltg": "lv",  # Latgalian
    "kik": "ki",  # Gikuyu
    "gug": "gn",  # Paraguayan Guarani
}
UNKNOWN = ""


class LanguageDetector:
    """`detect(text)`: an ISO 639-1 code ("en", "es", "zh", ...), or "" when unknown."""

    def __init__(self, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.min_confidence = min_confidence
        self._identifier = None
        self._loading = threading.Lock()

    def detect(self, text: str) -> str:
        """The language of `text`; "" for very short or letter-less text, or a low-confidence guess."""
        if _text_weight(text) < MIN_TEXT_WEIGHT:
            return UNKNOWN
        scores: dict[str, float] = defaultdict(float)
        for code, probability in self._model().rank(text):
            scores[BASE_LANGUAGE.get(code, code)] += probability
        best, runner_up = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:2]
        if best[1] < self.min_confidence or best[1] - runner_up[1] < MIN_LEAD:
            return UNKNOWN
        # Two-letter codes only: "zxx" (the model's "not a language") and languages without an
        # ISO 639-1 code (e.g. "pcm", "ext") are unknown to readers and translators alike.
        return best[0] if len(best[0]) == 2 else UNKNOWN

    def __call__(self, text: str) -> str:
        return self.detect(text)

    def _model(self):
        if self._identifier is None:
            with self._loading:  # two first requests at once load it once
                if self._identifier is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return self._identifier


def _text_weight(text: str) -> int:
    weight = 0
    for character in text:
        category = unicodedata.category(character)
        if category.startswith("L"):
            wide = category == "Lo" and unicodedata.east_asian_width(character) == "W"
            weight += 2 if wide else 1
    return weight
