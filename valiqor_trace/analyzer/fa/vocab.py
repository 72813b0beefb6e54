"""Word lists used by fact extraction (kept apart so the logic modules stay readable)."""

from __future__ import annotations

MONTHS: dict[str, int] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}

WEEKDAYS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "weekday weekdays weekend weekends today tomorrow yesterday".split()
)

# Capitalised words that are not names: titles, clock words, discourse words that start clauses
# after a colon or a dash, and words chat models capitalise by habit.
NOT_NAMES = frozenset(
    """mr mrs ms dr prof sir madam st jr sr am pm ok okay hi hello dear thanks note summary answer question
    step yes no true false null none internet web ai additionally overall however furthermore moreover
    meanwhile finally firstly secondly thirdly lastly instead therefore hence although despite according
    unfortunately fortunately sure certainly here""".split()
)

# Cardinal number words that are not also everyday pronouns ("one" is left out on purpose).
NUMBER_WORDS: dict[str, int] = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}

_US_STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
    "connecticut": "ct", "delaware": "de", "florida": "fl", "georgia": "ga", "hawaii": "hi", "idaho": "id",
    "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky", "louisiana": "la",
    "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi", "minnesota": "mn",
    "mississippi": "ms", "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv",
    "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm", "new york": "ny", "north carolina": "nc",
    "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhode island": "ri", "south carolina": "sc", "south dakota": "sd", "tennessee": "tn", "texas": "tx",
    "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa", "west virginia": "wv",
    "wisconsin": "wi", "wyoming": "wy", "alberta": "ab", "british columbia": "bc", "ontario": "on",
    "quebec": "qc",
}
_COUNTRIES = {
    "united states": "us", "america": "us", "usa": "us", "united kingdom": "uk", "britain": "uk",
    "england": "uk", "european union": "eu", "united arab emirates": "uae",
}

# A place name that the source spells as its abbreviation is not a fabrication.
PLACE_ABBREVIATIONS: dict[str, str] = {**_US_STATES, **_COUNTRIES}

# Words that state the outcome or status of an action or a record ("has been delivered", "is confirmed"):
# after a failed lookup or action, an answer using one that no tool output or passage contains states a
# result nobody returned. Positive and neutral states only: a negative outcome ("declined", "not found")
# is how an honest answer reports a failure.
OUTCOME_WORDS = frozenset(
    """delivered shipped dispatched arrived confirmed approved processed completed complete succeeded successful
    successfully refunded reimbursed credited paid charged booked reserved scheduled rescheduled cancelled
    canceled updated changed modified upgraded downgraded renewed activated deactivated enabled disabled
    registered verified resolved closed reopened submitted sent received transferred issued installed restored
    delayed pending active inactive valid available
    entregado entregada enviado enviada confirmado confirmada procesado procesada reembolsado reembolsada
    cancelado cancelada reservado reservada aprobado aprobada pagado pagada
    livré livrée expédié expédiée confirmé confirmée traité traitée remboursé remboursée annulé annulée
    réservé réservée approuvé approuvée payé payée
    geliefert zugestellt versandt verschickt bestätigt bearbeitet erstattet storniert gebucht genehmigt bezahlt
    consegnato consegnata spedito spedita confermato confermata elaborato elaborata rimborsato rimborsata
    annullato annullata prenotato prenotata approvato approvata pagato pagata
    entregue processado processada aprovado aprovada
    geleverd bezorgd verzonden bevestigd verwerkt terugbetaald geannuleerd geboekt goedgekeurd betaald"""
    .split()
)
