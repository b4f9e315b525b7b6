#!/usr/bin/env python
"""Write the offline demo's toy data into ``src/xstilts/data/demo/`` (or ``--out DIR``).

Two tasks, both written by the project itself (Apache-2.0), no third-party data:

* ``demo-sentiment`` (target task; negative / neutral / positive): short review-like sentences
  built from whole-sentence templates, hand-translated into en, de, fr, es, ru, zh, hi, ar, sw.
  English train/dev, and a test file per language whose row i is the same content everywhere.
  The test rows use subject/opinion pairings that never occur in training.
* ``demo-nli`` (intermediate task, English only; entailment / neutral / contradiction):
  premise/hypothesis pairs from simple everyday scenes.

The output is deterministic (fixed seeds, sorted tables): re-running it reproduces the committed
files byte for byte. Data tables first, generation code at the bottom.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

LANGS = ["en", "de", "fr", "es", "ru", "zh", "hi", "ar", "sw"]
LABELS = ["negative", "neutral", "positive"]

# --------------------------------------------------------------------------------------------
# demo-sentiment: subjects
# --------------------------------------------------------------------------------------------
# Each subject is written per language together with its agreement class, which picks the right
# form of each opinion template below (fr/es/hi/ar: m or f; ru: m, f or n; sw: noun class
# ki (7), n (9) or m (3); en/de/zh need no agreement for these sentences, class "-").
SUBJECTS: dict[str, dict[str, tuple[str, str]]] = {
    "food": {
        "en": ("The food", "-"),
        "de": ("Das Essen", "-"),
        "fr": ("La nourriture", "f"),
        "es": ("La comida", "f"),
        "ru": ("Еда", "f"),
        "zh": ("饭菜", "-"),
        "hi": ("खाना", "m"),
        "ar": ("الطعام", "m"),
        "sw": ("Chakula", "ki"),
    },
    "hotel_room": {
        "en": ("The hotel room", "-"),
        "de": ("Das Hotelzimmer", "-"),
        "fr": ("La chambre d'hôtel", "f"),
        "es": ("La habitación del hotel", "f"),
        "ru": ("Номер в отеле", "m"),
        "zh": ("酒店房间", "-"),
        "hi": ("होटल का कमरा", "m"),
        "ar": ("غرفة الفندق", "f"),
        "sw": ("Chumba cha hoteli", "ki"),
    },
    "phone": {
        "en": ("This phone", "-"),
        "de": ("Dieses Handy", "-"),
        "fr": ("Ce téléphone", "m"),
        "es": ("Este teléfono", "m"),
        "ru": ("Этот телефон", "m"),
        "zh": ("这部手机", "-"),
        "hi": ("यह फ़ोन", "m"),
        "ar": ("هذا الهاتف", "m"),
        "sw": ("Simu hii", "n"),
    },
    "service": {
        "en": ("The service", "-"),
        "de": ("Der Service", "-"),
        "fr": ("Le service", "m"),
        "es": ("El servicio", "m"),
        "ru": ("Обслуживание", "n"),
        "zh": ("服务", "-"),
        "hi": ("सर्विस", "f"),
        "ar": ("الخدمة", "f"),
        "sw": ("Huduma", "n"),
    },
    "film": {
        "en": ("The film", "-"),
        "de": ("Der Film", "-"),
        "fr": ("Le film", "m"),
        "es": ("La película", "f"),
        "ru": ("Фильм", "m"),
        "zh": ("这部电影", "-"),
        "hi": ("फ़िल्म", "f"),
        "ar": ("الفيلم", "m"),
        "sw": ("Filamu", "n"),
    },
    "book": {
        "en": ("This book", "-"),
        "de": ("Dieses Buch", "-"),
        "fr": ("Ce livre", "m"),
        "es": ("Este libro", "m"),
        "ru": ("Эта книга", "f"),
        "zh": ("这本书", "-"),
        "hi": ("यह किताब", "f"),
        "ar": ("هذا الكتاب", "m"),
        "sw": ("Kitabu hiki", "ki"),
    },
    "restaurant": {
        "en": ("The restaurant", "-"),
        "de": ("Das Restaurant", "-"),
        "fr": ("Le restaurant", "m"),
        "es": ("El restaurante", "m"),
        "ru": ("Ресторан", "m"),
        "zh": ("这家餐厅", "-"),
        "hi": ("रेस्टोरेंट", "m"),
        "ar": ("المطعم", "m"),
        "sw": ("Mgahawa", "m"),
    },
    "laptop": {
        "en": ("This laptop", "-"),
        "de": ("Dieser Laptop", "-"),
        "fr": ("Cet ordinateur portable", "m"),
        "es": ("Este portátil", "m"),
        "ru": ("Этот ноутбук", "m"),
        "zh": ("这台笔记本电脑", "-"),
        "hi": ("यह लैपटॉप", "m"),
        "ar": ("هذا الحاسوب المحمول", "m"),
        "sw": ("Kompyuta mpakato hii", "n"),
    },
    "app": {
        "en": ("This app", "-"),
        "de": ("Diese App", "-"),
        "fr": ("Cette application", "f"),
        "es": ("Esta aplicación", "f"),
        "ru": ("Это приложение", "n"),
        "zh": ("这款应用", "-"),
        "hi": ("यह ऐप", "m"),
        "ar": ("هذا التطبيق", "m"),
        "sw": ("Programu hii", "n"),
    },
    "coffee": {
        "en": ("The coffee", "-"),
        "de": ("Der Kaffee", "-"),
        "fr": ("Le café", "m"),
        "es": ("El café", "m"),
        "ru": ("Кофе", "m"),
        "zh": ("咖啡", "-"),
        "hi": ("कॉफ़ी", "f"),
        "ar": ("القهوة", "f"),
        "sw": ("Kahawa", "n"),
    },
    "camera": {
        "en": ("This camera", "-"),
        "de": ("Diese Kamera", "-"),
        "fr": ("Cet appareil photo", "m"),
        "es": ("Esta cámara", "f"),
        "ru": ("Эта камера", "f"),
        "zh": ("这台相机", "-"),
        "hi": ("यह कैमरा", "m"),
        "ar": ("هذه الكاميرا", "f"),
        "sw": ("Kamera hii", "n"),
    },
    "hotel": {
        "en": ("The hotel", "-"),
        "de": ("Das Hotel", "-"),
        "fr": ("L'hôtel", "m"),
        "es": ("El hotel", "m"),
        "ru": ("Отель", "m"),
        "zh": ("这家酒店", "-"),
        "hi": ("होटल", "m"),
        "ar": ("الفندق", "m"),
        "sw": ("Hoteli", "n"),
    },
}

# --------------------------------------------------------------------------------------------
# demo-sentiment: opinions (whole-sentence templates; {s} is the subject)
# --------------------------------------------------------------------------------------------
# A plain string is used for every agreement class; a dict gives one form per class.
Template = str | dict[str, str]

OPINIONS: dict[str, list[dict[str, Template]]] = {
    "positive": [
        {
            "en": "{s} is excellent.",
            "de": "{s} ist ausgezeichnet.",
            "fr": {"m": "{s} est excellent.", "f": "{s} est excellente."},
            "es": "{s} es excelente.",
            "ru": {"m": "{s} отличный.", "f": "{s} отличная.", "n": "{s} отличное."},
            "zh": "{s}非常出色。",
            "hi": "{s} बेहतरीन है।",
            "ar": {"m": "{s} ممتاز.", "f": "{s} ممتازة."},
            "sw": "{s} ni bora kabisa.",
        },
        {
            "en": "{s} is really great.",
            "de": "{s} ist wirklich toll.",
            "fr": "{s} est vraiment super.",
            "es": "{s} es realmente genial.",
            "ru": "{s} просто супер.",
            "zh": "{s}真的很棒。",
            "hi": "{s} सच में बहुत बढ़िया है।",
            "ar": {"m": "{s} رائع حقًا.", "f": "{s} رائعة حقًا."},
            "sw": {
                "ki": "{s} ni kizuri sana.",
                "n": "{s} ni nzuri sana.",
                "m": "{s} ni mzuri sana.",
            },
        },
        {
            "en": "{s} is wonderful.",
            "de": "{s} ist wunderbar.",
            "fr": {"m": "{s} est merveilleux.", "f": "{s} est merveilleuse."},
            "es": {"m": "{s} es maravilloso.", "f": "{s} es maravillosa."},
            "ru": {"m": "{s} замечательный.", "f": "{s} замечательная.", "n": "{s} замечательное."},
            "zh": "{s}好极了。",
            "hi": "{s} शानदार है।",
            "ar": {"m": "{s} مذهل.", "f": "{s} مذهلة."},
            "sw": {
                "ki": "{s} ni cha kupendeza.",
                "n": "{s} ni ya kupendeza.",
                "m": "{s} ni wa kupendeza.",
            },
        },
        {
            "en": "{s} exceeded my expectations.",
            "de": "{s} hat meine Erwartungen übertroffen.",
            "fr": "{s} a dépassé mes attentes.",
            "es": "{s} superó mis expectativas.",
            "ru": {
                "m": "{s} превзошёл мои ожидания.",
                "f": "{s} превзошла мои ожидания.",
                "n": "{s} превзошло мои ожидания.",
            },
            "zh": "{s}超出了我的预期。",
            "hi": {"m": "{s} मेरी उम्मीदों से बढ़कर निकला।", "f": "{s} मेरी उम्मीदों से बढ़कर निकली।"},
            "ar": {"m": "{s} فاق توقعاتي.", "f": "{s} فاقت توقعاتي."},
            "sw": {
                "ki": "{s} kimezidi matarajio yangu.",
                "n": "{s} imezidi matarajio yangu.",
                "m": "{s} umezidi matarajio yangu.",
            },
        },
        {
            "en": "{s} is worth every penny.",
            "de": "{s} ist jeden Cent wert.",
            "fr": "{s} vaut largement son prix.",
            "es": "{s} vale cada céntimo.",
            "ru": "{s} стоит каждой копейки.",
            "zh": "{s}绝对物超所值。",
            "hi": "{s} पूरी तरह पैसा वसूल है।",
            "ar": {"m": "{s} يستحق كل قرش.", "f": "{s} تستحق كل قرش."},
            "sw": {
                "ki": "{s} kinastahili kila senti.",
                "n": "{s} inastahili kila senti.",
                "m": "{s} unastahili kila senti.",
            },
        },
    ],
    "negative": [
        {
            "en": "{s} is terrible.",
            "de": "{s} ist schrecklich.",
            "fr": "{s} est horrible.",
            "es": "{s} es horrible.",
            "ru": {"m": "{s} ужасный.", "f": "{s} ужасная.", "n": "{s} ужасное."},
            "zh": "{s}糟透了。",
            "hi": "{s} बहुत ख़राब है।",
            "ar": {"m": "{s} سيئ جدًا.", "f": "{s} سيئة جدًا."},
            "sw": {
                "ki": "{s} ni kibaya sana.",
                "n": "{s} ni mbaya sana.",
                "m": "{s} ni mbaya sana.",
            },
        },
        {
            "en": "{s} is really disappointing.",
            "de": "{s} ist wirklich enttäuschend.",
            "fr": {"m": "{s} est vraiment décevant.", "f": "{s} est vraiment décevante."},
            "es": "{s} es realmente decepcionante.",
            "ru": {
                "m": "{s} меня сильно разочаровал.",
                "f": "{s} меня сильно разочаровала.",
                "n": "{s} меня сильно разочаровало.",
            },
            "zh": "{s}真的很让人失望。",
            "hi": "{s} सच में बहुत निराशाजनक है।",
            "ar": {"m": "{s} مخيب للآمال حقًا.", "f": "{s} مخيبة للآمال حقًا."},
            "sw": {
                "ki": "{s} kinakatisha tamaa sana.",
                "n": "{s} inakatisha tamaa sana.",
                "m": "{s} unakatisha tamaa sana.",
            },
        },
        {
            "en": "{s} is a complete waste of money.",
            "de": "{s} ist reine Geldverschwendung.",
            "fr": "{s} est un vrai gaspillage d'argent.",
            "es": "{s} es una completa pérdida de dinero.",
            "ru": "{s} — пустая трата денег.",
            "zh": "{s}完全是浪费钱。",
            "hi": "{s} पैसों की पूरी बर्बादी है।",
            "ar": "{s} مضيعة تامة للمال.",
            "sw": "{s} ni upotevu mtupu wa pesa.",
        },
        {
            "en": "{s} is worse than I expected.",
            "de": "{s} ist schlechter als erwartet.",
            "fr": "{s} est pire que ce que j'attendais.",
            "es": "{s} es peor de lo que esperaba.",
            "ru": "{s} хуже, чем ожидалось.",
            "zh": "{s}比我预想的还要差。",
            "hi": {"m": "{s} मेरी उम्मीद से भी बुरा निकला।", "f": "{s} मेरी उम्मीद से भी बुरी निकली।"},
            "ar": "{s} أسوأ مما توقعت.",
            "sw": {
                "ki": "{s} ni kibaya kuliko nilivyotarajia.",
                "n": "{s} ni mbaya kuliko nilivyotarajia.",
                "m": "{s} ni mbaya kuliko nilivyotarajia.",
            },
        },
        {
            "en": "{s} is awful.",
            "de": "{s} ist furchtbar.",
            "fr": {"m": "{s} est affreux.", "f": "{s} est affreuse."},
            "es": {"m": "{s} es pésimo.", "f": "{s} es pésima."},
            "ru": "{s} — просто кошмар.",
            "zh": "{s}太差劲了。",
            "hi": "{s} बिल्कुल बेकार है।",
            "ar": {"m": "{s} فظيع.", "f": "{s} فظيعة."},
            "sw": {
                "ki": "{s} ni kibovu kabisa.",
                "n": "{s} ni mbovu kabisa.",
                "m": "{s} ni mbovu kabisa.",
            },
        },
    ],
    "neutral": [
        {
            "en": "{s} is okay, nothing special.",
            "de": "{s} ist okay, nichts Besonderes.",
            "fr": {"m": "{s} est correct, sans plus.", "f": "{s} est correcte, sans plus."},
            "es": "{s} está bien, nada especial.",
            "ru": {
                "m": "{s} нормальный, ничего особенного.",
                "f": "{s} нормальная, ничего особенного.",
                "n": "{s} нормальное, ничего особенного.",
            },
            "zh": "{s}还行，没什么特别的。",
            "hi": "{s} ठीक है, कुछ ख़ास नहीं।",
            "ar": {"m": "{s} لا بأس به، لا شيء مميز.", "f": "{s} لا بأس بها، لا شيء مميز."},
            "sw": "{s} ni sawa tu, hakuna cha ajabu.",
        },
        {
            "en": "{s} is average.",
            "de": "{s} ist durchschnittlich.",
            "fr": {"m": "{s} est moyen.", "f": "{s} est moyenne."},
            "es": "{s} es regular.",
            "ru": "{s} так себе.",
            "zh": "{s}很一般。",
            "hi": "{s} औसत है।",
            "ar": {"m": "{s} عادي.", "f": "{s} عادية."},
            "sw": {
                "ki": "{s} ni cha kawaida.",
                "n": "{s} ni ya kawaida.",
                "m": "{s} ni wa kawaida.",
            },
        },
        {
            "en": "{s} is neither good nor bad.",
            "de": "{s} ist weder gut noch schlecht.",
            "fr": {"m": "{s} n'est ni bon ni mauvais.", "f": "{s} n'est ni bonne ni mauvaise."},
            "es": {"m": "{s} no es ni bueno ni malo.", "f": "{s} no es ni buena ni mala."},
            "ru": {
                "m": "{s} ни хороший, ни плохой.",
                "f": "{s} ни хорошая, ни плохая.",
                "n": "{s} ни хорошее, ни плохое.",
            },
            "zh": "{s}不好也不坏。",
            "hi": {"m": "{s} न अच्छा है, न बुरा।", "f": "{s} न अच्छी है, न बुरी।"},
            "ar": {"m": "{s} ليس جيدًا ولا سيئًا.", "f": "{s} ليست جيدة ولا سيئة."},
            "sw": {
                "ki": "{s} si kizuri wala si kibaya.",
                "n": "{s} si nzuri wala si mbaya.",
                "m": "{s} si mzuri wala si mbaya.",
            },
        },
        {
            "en": "{s} is about what I expected.",
            "de": "{s} ist in etwa so, wie ich es erwartet hatte.",
            "fr": "{s} est à peu près comme je m'y attendais.",
            "es": "{s} es más o menos lo que esperaba.",
            "ru": {
                "m": "{s} примерно такой, как и ожидалось.",
                "f": "{s} примерно такая, как и ожидалось.",
                "n": "{s} примерно такое, как и ожидалось.",
            },
            "zh": "{s}和我预想的差不多。",
            "hi": {
                "m": "{s} लगभग वैसा ही है जैसी मुझे उम्मीद थी।",
                "f": "{s} लगभग वैसी ही है जैसी मुझे उम्मीद थी।",
            },
            "ar": "{s} كما توقعت تقريبًا.",
            "sw": "{s} ni kama nilivyotarajia.",
        },
        {
            "en": "{s} is acceptable, but nothing more.",
            "de": "{s} ist akzeptabel, aber mehr auch nicht.",
            "fr": "{s} est acceptable, mais rien de plus.",
            "es": "{s} es aceptable, pero nada más.",
            "ru": {
                "m": "{s} приемлемый, но не более того.",
                "f": "{s} приемлемая, но не более того.",
                "n": "{s} приемлемое, но не более того.",
            },
            "zh": "{s}还可以接受，但也仅此而已。",
            "hi": "{s} चलने लायक है, पर इससे ज़्यादा कुछ नहीं।",
            "ar": {"m": "{s} مقبول، لكن لا أكثر.", "f": "{s} مقبولة، لكن لا أكثر."},
            "sw": {
                "ki": "{s} kinakubalika, lakini si zaidi ya hapo.",
                "n": "{s} inakubalika, lakini si zaidi ya hapo.",
                "m": "{s} unakubalika, lakini si zaidi ya hapo.",
            },
        },
    ],
}

# Optional second sentence, same polarity, independent of the subject (no pronoun to agree).
FOLLOW_UPS: dict[str, list[dict[str, str]]] = {
    "positive": [
        {
            "en": "Highly recommended!",
            "de": "Sehr zu empfehlen!",
            "fr": "Je recommande vivement !",
            "es": "¡Muy recomendable!",
            "ru": "Очень рекомендую!",
            "zh": "强烈推荐！",
            "hi": "ज़रूर आज़माइए!",
            "ar": "تجربة أنصح بها بشدة!",
            "sw": "Ninapendekeza sana!",
        },
        {
            "en": "A real pleasure.",
            "de": "Ein echtes Vergnügen.",
            "fr": "Un vrai plaisir.",
            "es": "Un verdadero placer.",
            "ru": "Одно удовольствие.",
            "zh": "真是一种享受。",
            "hi": "सच में मज़ा आ गया।",
            "ar": "متعة حقيقية.",
            "sw": "Ni raha tupu.",
        },
        {
            "en": "A great choice.",
            "de": "Eine tolle Wahl.",
            "fr": "Un excellent choix.",
            "es": "Una gran elección.",
            "ru": "Отличный выбор.",
            "zh": "选得太对了。",
            "hi": "बढ़िया चुनाव।",
            "ar": "اختيار موفق.",
            "sw": "Chaguo zuri sana.",
        },
    ],
    "negative": [
        {
            "en": "Never again.",
            "de": "Nie wieder.",
            "fr": "Plus jamais.",
            "es": "Nunca más.",
            "ru": "Больше никогда.",
            "zh": "下次不会再选了。",
            "hi": "दोबारा कभी नहीं।",
            "ar": "لن أكرر التجربة أبدًا.",
            "sw": "Sitarudia tena.",
        },
        {
            "en": "Not recommended.",
            "de": "Nicht zu empfehlen.",
            "fr": "Je ne recommande pas.",
            "es": "No es recomendable.",
            "ru": "Не рекомендую.",
            "zh": "不推荐。",
            "hi": "इससे दूर ही रहें।",
            "ar": "لا أنصح أحدًا بذلك.",
            "sw": "Sipendekezi.",
        },
        {
            "en": "What a shame.",
            "de": "Wie schade.",
            "fr": "Quel dommage.",
            "es": "Qué pena.",
            "ru": "Очень жаль.",
            "zh": "太可惜了。",
            "hi": "बड़े अफ़सोस की बात है।",
            "ar": "يا للأسف.",
            "sw": "Inasikitisha sana.",
        },
    ],
    "neutral": [
        {
            "en": "Nothing more to say.",
            "de": "Mehr gibt es nicht zu sagen.",
            "fr": "Rien de plus à dire.",
            "es": "Nada más que decir.",
            "ru": "Больше сказать нечего.",
            "zh": "没什么可多说的。",
            "hi": "इससे ज़्यादा कहने को कुछ नहीं।",
            "ar": "ليس لديّ ما أضيفه.",
            "sw": "Sina zaidi la kusema.",
        },
        {
            "en": "No complaints, but no praise either.",
            "de": "Keine Beschwerden, aber auch kein Lob.",
            "fr": "Pas de plaintes, mais pas d'éloges non plus.",
            "es": "Sin quejas, pero tampoco elogios.",
            "ru": "Жалоб нет, но и хвалить не за что.",
            "zh": "没什么可抱怨的，也没什么值得夸的。",
            "hi": "कोई शिकायत नहीं, पर तारीफ़ के लायक भी कुछ नहीं।",
            "ar": "لا شكوى، ولكن لا مديح أيضًا.",
            "sw": "Hakuna malalamiko, lakini pia hakuna sifa.",
        },
        {
            "en": "Nothing more, nothing less.",
            "de": "Nicht mehr und nicht weniger.",
            "fr": "Ni plus, ni moins.",
            "es": "Ni más ni menos.",
            "ru": "Ни больше ни меньше.",
            "zh": "不过如此。",
            "hi": "न ज़्यादा, न कम।",
            "ar": "لا أكثر ولا أقل.",
            "sw": "Si zaidi wala si pungufu.",
        },
    ],
}

# Rows per label in each sentiment file.
SENTIMENT_PER_LABEL = {"train": 100, "dev": 33, "test": 33}

# --------------------------------------------------------------------------------------------
# demo-nli (English only)
# --------------------------------------------------------------------------------------------
# Agents: (premise form, definite form, possessive, more general forms that it entails).
AGENTS: list[tuple[str, str, str, list[str]]] = [
    ("A woman", "The woman", "her", ["A person", "Someone"]),
    ("A man", "The man", "his", ["A person", "Someone"]),
    ("A young woman", "The young woman", "her", ["A woman", "Someone"]),
    ("A young man", "The young man", "his", ["A man", "Someone"]),
    ("An old man", "The old man", "his", ["A man", "A person"]),
    ("An elderly woman", "The elderly woman", "her", ["A woman", "A person"]),
    ("A man with a beard", "The bearded man", "his", ["A man", "Someone"]),
    ("A woman in a red coat", "The woman", "her", ["A woman", "A person"]),
    ("A tall man in glasses", "The man", "his", ["A man", "A person"]),
    ("A woman with long hair", "The woman", "her", ["A woman", "Someone"]),
    ("A man in a grey suit", "The man", "his", ["A man", "A person"]),
    ("A middle-aged woman", "The woman", "her", ["A woman", "Someone"]),
]

# Scenes: premise verb phrase + place, and hypothesis verb phrases per label ({pos}: possessive).
SCENES: list[dict[str, object]] = [
    {
        "vp": "is cooking dinner",
        "place": "in the kitchen",
        "entailment": ["is preparing food", "is making a meal", "is in the kitchen"],
        "neutral": [
            "is cooking dinner for {pos} family",
            "is cooking pasta",
            "is trying a new recipe",
        ],
        "contradiction": ["is sleeping in bed", "is swimming in a lake", "is not cooking anything"],
    },
    {
        "vp": "is playing the guitar",
        "place": "on a stage",
        "entailment": ["is playing an instrument", "is making music", "is on a stage"],
        "neutral": [
            "is playing {pos} favourite song",
            "is performing for a large crowd",
            "is practising for a concert",
        ],
        "contradiction": [
            "is sitting silently in the audience",
            "is asleep at home",
            "is listening to the radio at home",
        ],
    },
    {
        "vp": "is riding a bicycle",
        "place": "along a mountain road",
        "entailment": ["is cycling", "is outdoors", "is riding a bike"],
        "neutral": ["is training for a race", "is riding to work", "is riding a brand-new bicycle"],
        "contradiction": [
            "is driving a car",
            "is sitting on a sofa at home",
            "is walking beside a parked bicycle",
        ],
    },
    {
        "vp": "is reading a book",
        "place": "in the library",
        "entailment": ["is reading", "is looking at a book", "is in a library"],
        "neutral": [
            "is reading a novel",
            "is studying for an exam",
            "is reading a book that {pos} friend recommended",
        ],
        "contradiction": [
            "is playing football outside",
            "is watching television at home",
            "is sleeping with {pos} eyes closed",
        ],
    },
    {
        "vp": "is painting a picture",
        "place": "in a sunny studio",
        "entailment": ["is making art", "is painting", "is in a studio"],
        "neutral": [
            "is painting a portrait of {pos} mother",
            "is preparing for an exhibition",
            "is a famous artist",
        ],
        "contradiction": [
            "is washing dishes in a restaurant",
            "is running in a park",
            "is sleeping in a dark room",
        ],
    },
    {
        "vp": "is swimming",
        "place": "in the sea",
        "entailment": ["is in the water", "is in the sea", "is moving through the water"],
        "neutral": ["is swimming to stay fit", "is training for a competition", "is on holiday"],
        "contradiction": [
            "is sitting in an office",
            "is completely dry",
            "is skiing down a mountain",
        ],
    },
    {
        "vp": "is walking a dog",
        "place": "through the park",
        "entailment": ["is outside with an animal", "is walking", "is in a park"],
        "neutral": ["is walking a neighbour's dog", "is on {pos} way home", "is walking a puppy"],
        "contradiction": [
            "is sitting alone in a car",
            "is feeding a cat at home",
            "is asleep on the sofa",
        ],
    },
    {
        "vp": "is fixing a car",
        "place": "in a garage",
        "entailment": ["is repairing a vehicle", "is working on a car", "is in a garage"],
        "neutral": ["is a professional mechanic", "is fixing {pos} own car", "is changing the oil"],
        "contradiction": ["is sunbathing on a beach", "is baking bread", "is sleeping in a tent"],
    },
    {
        "vp": "is teaching a class",
        "place": "in a classroom",
        "entailment": ["is teaching", "is in a classroom", "is giving a lesson"],
        "neutral": ["is teaching mathematics", "is a new teacher", "is teaching young children"],
        "contradiction": [
            "is alone at home",
            "is surfing in the ocean",
            "is sleeping in a hotel room",
        ],
    },
    {
        "vp": "is planting flowers",
        "place": "in the garden",
        "entailment": ["is gardening", "is outdoors", "is planting something"],
        "neutral": [
            "is planting roses",
            "is planting flowers for {pos} grandmother",
            "is enjoying the warm weather",
        ],
        "contradiction": [
            "is cooking in the kitchen",
            "is sitting in a cinema",
            "is taking a shower",
        ],
    },
    {
        "vp": "is buying vegetables",
        "place": "at a market",
        "entailment": ["is shopping", "is at a market", "is buying food"],
        "neutral": [
            "is buying tomatoes",
            "is buying vegetables for a soup",
            "is shopping for a party",
        ],
        "contradiction": [
            "is sleeping in a hotel room",
            "is climbing a mountain",
            "is swimming in a pool",
        ],
    },
    {
        "vp": "is climbing a rock wall",
        "place": "at a gym",
        "entailment": ["is climbing", "is exercising", "is at a gym"],
        "neutral": [
            "is a professional climber",
            "is climbing for the first time",
            "is training for a competition",
        ],
        "contradiction": [
            "is lying in bed",
            "is reading in a library",
            "is eating at a restaurant",
        ],
    },
    {
        "vp": "is writing a letter",
        "place": "at a desk",
        "entailment": ["is writing", "is writing something", "is at a desk"],
        "neutral": [
            "is writing to {pos} grandmother",
            "is writing a love letter",
            "is writing with a fountain pen",
        ],
        "contradiction": ["is jogging on a beach", "is asleep", "is singing on a stage"],
    },
    {
        "vp": "is drinking coffee",
        "place": "in a café",
        "entailment": ["is having a drink", "is in a café", "is drinking something"],
        "neutral": [
            "is waiting for a friend",
            "is drinking coffee with milk",
            "is reading the news",
        ],
        "contradiction": ["is swimming in a river", "is driving a bus", "is sleeping at home"],
    },
    {
        "vp": "is carrying a heavy box",
        "place": "up the stairs",
        "entailment": ["is carrying something", "is on the stairs", "is holding a box"],
        "neutral": [
            "is moving to a new flat",
            "is carrying books in the box",
            "is helping a friend",
        ],
        "contradiction": [
            "is sitting on a bench",
            "is not carrying anything",
            "is taking the lift",
        ],
    },
    {
        "vp": "is taking a photo",
        "place": "by a lake",
        "entailment": ["is using a camera", "is taking a picture", "is near a lake"],
        "neutral": [
            "is a professional photographer",
            "is on holiday",
            "is taking a photo for a magazine",
        ],
        "contradiction": ["is asleep", "is working in an office", "is cooking in a kitchen"],
    },
]

NLI_LABELS = ["entailment", "neutral", "contradiction"]
NLI_PREMISES = {"train": 134, "dev": 34}  # each premise appears once with each label

SEED = 20240917

# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------


def _form(template: Template, cls: str) -> str:
    return template if isinstance(template, str) else template[cls]


def render_sentiment(lang: str, subject: str, label: str, op: int, follow: int | None) -> str:
    """One review sentence (plus an optional follow-up sentence) in one language."""
    subj, cls = SUBJECTS[subject][lang]
    text = _form(OPINIONS[label][op][lang], cls).format(s=subj)
    if follow is not None:
        sep = "" if lang == "zh" else " "
        text += sep + FOLLOW_UPS[label][follow][lang]
    return text


def _pair_split(label_idx: int, subj_idx: int, op_idx: int) -> str:
    """Latin-square style hold-out: every opinion and subject is seen in training, but a quarter
    of the subject/opinion pairings per label only occur in test (and a sixth only in dev)."""
    r = (subj_idx + 2 * op_idx + 5 * label_idx) % len(SUBJECTS)
    if r < 3:
        return "test"
    if r < 5:
        return "dev"
    return "train"


def sentiment_items(rng: random.Random) -> dict[str, list[tuple[str, str, int, int | None]]]:
    """(subject, label, opinion, follow-up) per split, classes balanced, shuffled."""
    subjects = sorted(SUBJECTS)
    out: dict[str, list] = {"train": [], "dev": [], "test": []}
    for li, label in enumerate(LABELS):
        pools: dict[str, list] = {"train": [], "dev": [], "test": []}
        for si, subject in enumerate(subjects):
            for oi in range(len(OPINIONS[label])):
                split = _pair_split(li, si, oi)
                for follow in [None, *range(len(FOLLOW_UPS[label]))]:
                    pools[split].append((subject, label, oi, follow))
        for split, pool in pools.items():
            n = SENTIMENT_PER_LABEL[split]
            assert len(pool) >= n, (split, label, len(pool))
            out[split].extend(rng.sample(pool, n))
    for items in out.values():
        rng.shuffle(items)
    return out


def nli_items(rng: random.Random) -> dict[str, list[tuple[str, str, str]]]:
    premises = [(a, s) for a in range(len(AGENTS)) for s in range(len(SCENES))]
    rng.shuffle(premises)
    need = NLI_PREMISES["train"] + NLI_PREMISES["dev"]
    assert len(premises) >= need
    chosen = {
        "train": premises[: NLI_PREMISES["train"]],
        "dev": premises[NLI_PREMISES["train"] : need],
    }
    out: dict[str, list] = {}
    for split, prem in chosen.items():
        rows = []
        for ai, si in prem:
            indef, definite, pos, general = AGENTS[ai]
            scene = SCENES[si]
            premise = f"{indef} {scene['vp']} {scene['place']}."
            for label in NLI_LABELS:
                vp = rng.choice(scene[label]).format(pos=pos)  # type: ignore[index]
                # A contradiction must be about the same person, so it names the agent as the
                # premise does; the other labels also use more general forms ("Someone").
                forms = (
                    [definite, indef] if label == "contradiction" else [definite, indef, *general]
                )
                subj = rng.choice(forms)
                rows.append((premise, f"{subj} {vp}.", label))
        rng.shuffle(rows)
        out[split] = rows
    return out


def _write_tsv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)]
    for row in rows:
        assert all("\t" not in c and "\n" not in c for c in row), row
        lines.append("\t".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def write_all(out: Path) -> list[Path]:
    written = []
    sent = sentiment_items(random.Random(SEED))
    for split in ("train", "dev"):
        rows = [(render_sentiment("en", s, lab, o, f), lab) for s, lab, o, f in sent[split]]
        p = out / "sentiment" / f"{split}-en.tsv"
        _write_tsv(p, ["text", "label"], rows)
        written.append(p)
    for lang in LANGS:
        rows = [(render_sentiment(lang, s, lab, o, f), lab) for s, lab, o, f in sent["test"]]
        p = out / "sentiment" / f"test-{lang}.tsv"
        _write_tsv(p, ["text", "label"], rows)
        written.append(p)
    nli = nli_items(random.Random(SEED + 1))
    for split, rows in nli.items():
        p = out / "nli" / f"{split}-en.tsv"
        _write_tsv(p, ["premise", "hypothesis", "label"], rows)
        written.append(p)
    return written


def main(argv: list[str] | None = None) -> None:
    default = Path(__file__).resolve().parents[1] / "src" / "xstilts" / "data" / "demo"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=default, help=f"output directory (default: {default})"
    )
    args = ap.parse_args(argv)
    for p in write_all(args.out):
        n = sum(1 for _ in p.open(encoding="utf-8")) - 1
        print(f"{p}: {n} rows")


if __name__ == "__main__":
    main()
