"""Languages of the shared CI alignment run (a module of its own: test files import it)."""

TATOEBA_20 = ["ar", "bg", "de", "el", "es", "fa", "fi", "fr", "he", "hi",
              "hu", "id", "it", "ja", "ko", "nl", "pt", "ru", "tr", "zh"]  # fmt: skip
