"""What a spreadsheet column can be imported as, and the automatic guess from its header.

Headers are compared folded (no accents, no case, no punctuation), so "E-Mail", "e_mail" and
"EMail" are one spelling. The spellings cover English, German, French, Spanish, Italian and
Dutch, and the field names other CRMs export (Salesforce, HubSpot, Zoho, Pipedrive, Odoo, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from crm.access import Entity
from crm.common.names import ascii_fold
from crm.identity.roles import OWNER_LABEL


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str
    # text | email | phone | country | flag | opt_out | date | owner | name | vocab | tags
    kind: str = "text"
    column: str | None = None  # the table column it fills (None: derived, e.g. full_name)


PERSON = (
    ImportField("full_name", "Full name", "name"),
    ImportField("first_name", "First name", "text", "first_name"),
    ImportField("middle_name", "Middle name", "text", "middle_name"),
    ImportField("last_name", "Last name", "text", "last_name"),
    ImportField("title", "Title", "text", "title"),
    ImportField("email", "Email", "email", "email"),
    ImportField("secondary_email", "Secondary email", "email", "secondary_email"),
    ImportField("phone", "Phone", "phone", "phone"),
    ImportField("mobile", "Mobile", "phone", "mobile"),
    ImportField("country", "Country", "country", "country_code"),
    ImportField("city", "City", "text", "city"),
    ImportField("address", "Address", "text", "address"),
    ImportField("description", "Description", "text", "description"),
    ImportField("lead_source", "Lead source", "vocab", "lead_source_id"),
    ImportField("vip", "VIP", "flag", "vip"),
    ImportField("newsletter", "Newsletter opt-in", "flag", "newsletter_opt_in"),
    # The same status said the other way round: "Email Opt Out = true" is "not subscribed".
    ImportField("newsletter_opt_out", "Newsletter opt-out", "opt_out", "newsletter_opt_in"),
    ImportField("disqualified", "Disqualified", "flag", "disqualified"),
    ImportField("owner", OWNER_LABEL, "owner", "owner_id"),
    ImportField("date_added", "Date added", "date", "created_at"),
)
LEAD_ONLY = (
    ImportField("company_name", "Company name", "text", "company_name"),
    ImportField("company_email", "Company email", "email", "company_email"),
    ImportField("company_phone", "Company phone", "phone", "company_phone"),
    ImportField("website", "Website", "text", "website"),
    ImportField("company_address", "Company address", "text", "company_address"),
    ImportField("industry", "Industry", "vocab", "industry_id"),
    ImportField("company_type", "Company type", "vocab", "company_type_id"),
)
CONTACT_ONLY = (
    ImportField("company", "Company", "company", "company_id"),
    # Kept beside the record (its tag links): added on import, never taken away. (Leads
    # show no tags, so a lead file's tags are not imported.)
    ImportField("tags", "Tags", "tags"),
)

FIELDS: dict[Entity, dict[str, ImportField]] = {
    Entity.LEAD: {f.key: f for f in (*PERSON, *LEAD_ONLY)},
    Entity.CONTACT: {f.key: f for f in (*PERSON, *CONTACT_ONLY)},
}
# Fields several columns may fill: every opt-out column counts (Salesforce exports can hold
# HasOptedOutOfEmail and a custom "Do Not Email" side by side).
SEVERAL = frozenset({"newsletter_opt_out"})
VOCABULARIES = {"lead_source": ("lead_sources", "lead source"),
                "industry": ("industries", "industry"),
                "company_type": ("company_types", "company type")}

# Folded header spellings per field. "company" is the contact's company and the lead's
# company name: `_ENTITY_RENAMES` turns one into the other.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "full_name": ("full name", "fullname", "name", "contact name", "contact", "person",
                  "contact person", "lead name", "display name", "complete name", "nom complet",
                  "nom et prenom", "name vorname", "vollstandiger name", "kontakt",
                  "ansprechpartner", "nombre completo", "nombre y apellidos", "nome completo",
                  "nome e cognome", "volledige naam", "naam", "contactpersoon", "nom", "nombre",
                  "nome"),
    "first_name": ("first name", "firstname", "first", "given name", "forename", "fname",
                   "vorname", "prenom", "nombre de pila", "primer nombre", "nome proprio",
                   "voornaam", "roepnaam"),
    "middle_name": ("middle name", "middlename", "middle", "middle initial", "second name",
                    "zweiter vorname", "deuxieme prenom", "segundo nombre", "secondo nome",
                    "tussenvoegsel", "additional name"),
    "last_name": ("last name", "lastname", "last", "surname", "family name", "lname",
                  "nachname", "familienname", "nom de famille", "apellido", "apellidos",
                  "cognome", "achternaam"),
    # A salutation (Mr., Frau, Mme) is not a job title: "Salutation", "Anrede", "Civilité" and
    # "Aanhef" map to nothing, and a "Title" column of salutations (Outlook's) neither.
    "title": ("job title", "title", "position", "role", "function", "jobtitle", "titel",
              "funktion", "berufsbezeichnung", "titre", "poste", "fonction", "cargo", "puesto",
              "titulo", "titolo", "ruolo", "qualifica", "functie", "designation",
              "organization 1 title", "job position", "organization title"),
    "email": ("email", "e mail", "email address", "e mail address", "mail", "email 1",
              "primary email", "work email", "business email", "emailaddress", "e mail adresse",
              "emailadresse", "mailadresse", "adresse e mail", "adresse email", "courriel",
              "correo", "correo electronico", "posta elettronica", "indirizzo email",
              "e mailadres", "emailadres", "mailadres", "email1", "personal email",
              "e mail 1 value", "email work", "email home", "email 1 value"),
    "secondary_email": ("secondary email", "email 2", "email2", "other email",
                        "e mail 2 address", "email 2 address", "e mail 2 value",
                        "e mail 2", "secondary e mail",
                        "alternative email", "alternate email", "second email",
                        "weitere e mail", "e mail 2", "zweite e mail", "autre email",
                        "email secondaire", "correo secundario", "email secondaria",
                        "tweede e mail"),
    "phone": ("phone", "telephone", "phone number", "tel", "work phone", "business phone",
              "office phone", "phone 1", "landline", "telefon", "telefonnummer", "tel nr",
              "festnetz", "telephone fixe", "numero de telephone", "telefono", "numero de telefono",
              "telefoonnummer", "telefoon", "phone1", "direct phone", "main phone", "phone 1 value",
              "phone work", "work phone number", "phone number work"),
    "mobile": ("mobile", "mobile phone", "cell", "cell phone", "cellphone", "mobile number",
               "handy", "mobil", "mobiltelefon", "mobilnummer", "handynummer", "portable",
               "telephone portable", "movil", "telefono movil", "celular", "cellulare",
               "mobiel", "mobiele telefoon", "gsm", "mobile phone number", "phone mobile",
               "mobile phone 1", "phone 2 value"),
    "country": ("country", "country code", "country name", "nation", "land", "staat", "pays",
                "pais", "paese", "nazione", "country region", "countryregion",
                "mailing country", "billing country", "country iso", "address 1 country",
                "business country region", "address country"),
    "city": ("city", "city name", "town", "ort", "stadt", "wohnort", "ville", "ciudad", "localidad",
             "citta", "comune", "plaats", "woonplaats", "stad", "mailing city",
             "billing city", "locality", "address 1 city", "business city", "address city"),
    "address": ("address", "street", "street address", "address line 1", "mailing street",
                "adresse", "strasse", "anschrift", "rue", "direccion", "calle", "indirizzo",
                "via", "adres", "straat", "postal address", "mailing address", "address 1 street",
                "business street", "address street"),
    "description": ("description", "notes", "note", "comment", "comments", "remarks",
                    "beschreibung", "notiz", "notizen", "bemerkung", "bemerkungen",
                    "kommentar", "commentaire", "commentaires", "remarque", "descripcion",
                    "notas", "comentarios", "descrizione", "note", "commenti", "beschrijving",
                    "notities", "opmerkingen", "about"),
    "lead_source": ("lead source", "source", "leadsource", "origin", "channel", "lead origin",
                    "quelle", "herkunft", "lead quelle", "origine", "source du lead", "fuente",
                    "origen", "fonte", "provenienza", "bron", "herkomst"),
    # Google Contacts "Labels" (older "Group Membership"), Mailchimp TAGS, Outlook
    # "Categories", Pipedrive "Labels", Odoo and Zoho "Tags".
    "tags": ("tags", "tag", "labels", "label", "group membership", "groups", "categories",
             "contact tags", "lead tags", "schlagworte", "schlagworter", "stichworte",
             "etiketten", "kategorien", "etiquettes", "mots cles", "etiquetas", "etichette",
             "labels tags"),
    "vip": ("vip", "is vip", "key account", "important", "vip kunde", "vip client"),
    "newsletter": ("newsletter", "newsletter opt in", "opt in", "optin", "subscribed",
                   "massmail", "mass mail", "mailing", "email opt in", "marketing emails",
                   "newsletter abonniert", "abonniert", "einwilligung", "abonne",
                   "inscrit newsletter", "boletin", "suscrito", "iscritto", "nieuwsbrief",
                   "subscribe", "subscription", "marketing consent", "has opted in",
                   "subscription status", "email subscription status", "newsletter status",
                   "marketing contact status", "email marketing consent", "consent",
                   "accepts marketing", "marketing opt in", "email opt in status",
                   "marketing status", "email marketing status"),
    # Opt-out columns (Salesforce "Email Opt Out" / HasOptedOutOfEmail, Dynamics "Do not
    # allow Bulk Emails", Zoho "Email Opt Out", HubSpot "Unsubscribed from all email",
    # Mailchimp's UNSUB_TIME, Odoo "Blacklist"): yes, or a date, means "not subscribed".
    "newsletter_opt_out": ("email opt out", "emailoptout", "has opted out of email",
                           "hasoptedoutofemail", "opted out", "opt out", "optout",
                           "opted out of email", "unsubscribed", "unsubscribe",
                           "unsubscribed from all email", "unsubscribed from all emails",
                           "do not email", "donotemail", "do not mail", "no email", "no emails",
                           "do not allow bulk emails", "donotbulkemail", "do not bulk email",
                           "bulk email opt out", "newsletter opt out", "unsub time",
                           "unsubscribe time", "unsubscribe date", "unsubscribed date",
                           "unsubscribed at", "blacklist", "email blacklist", "is blacklisted",
                           "abgemeldet", "newsletter abgemeldet", "abmeldung",
                           "werbewiderspruch", "desinscrit", "desabonne", "desinscription",
                           "baja", "dado de baja", "disiscritto", "afgemeld", "uitgeschreven",
                           "do not contact", "donotcontact"),
    "disqualified": ("disqualified", "is disqualified", "disqualify", "disqualifiziert",
                     "disqualifie", "descalificado", "squalificato", "gediskwalificeerd",
                     "unqualified"),
    "owner": ("owner", "assigned to", "assigned manager", "sales manager", "account manager",
              "account owner", "lead owner", "contact owner", "record owner", "salesperson",
              "sales rep", "responsible", "user", "assigned user", "owner name",
              "verantwortlich", "zustandig", "betreuer", "vertriebsmitarbeiter",
              "kundenbetreuer", "responsable", "commercial", "proprietaire", "propietario",
              "vendedor", "responsabile", "commerciale", "eigenaar", "verantwoordelijke",
              "accountmanager", "owner email", "owner username", "assigned to user"),
    "date_added": ("date added", "created", "created at", "created on", "creation date",
                   "date created", "created date", "createdate", "create date", "added",
                   "added on", "date", "erstellt", "erstellt am", "angelegt am",
                   "erstellungsdatum", "datum", "date de creation", "cree le", "date d ajout",
                   "fecha de creacion", "fecha", "creado", "data di creazione", "data",
                   "aangemaakt", "aanmaakdatum", "datum toegevoegd", "create time", "created time",
                   "creation time", "date created utc"),
    "company": ("company", "company name", "organization", "organisation", "organization name",
                "account", "account name", "employer", "business", "firm", "companyname",
                "firma", "unternehmen", "firmenname", "organisation name", "societe",
                "entreprise", "nom de l entreprise", "empresa", "compania", "nombre de empresa",
                "azienda", "societa", "ragione sociale", "bedrijf", "bedrijfsnaam",
                "onderneming", "org name", "organization name", "organization 1 name"),
    "company_email": ("company email", "organization email", "account email", "firmen e mail",
                      "e mail firma", "email entreprise", "correo empresa", "email azienda",
                      "bedrijfs e mail", "general email"),
    "company_phone": ("company phone", "organization phone", "account phone", "main number",
                      "firmentelefon", "telefon firma", "telephone entreprise",
                      "telefono empresa", "telefono azienda", "bedrijfstelefoon",
                      "switchboard"),
    "website": ("website", "web site", "web", "url", "homepage", "site", "www", "webseite",
                "internetseite", "site web", "sitio web", "pagina web", "sito web", "sito",
                "company website", "domain"),
    "company_address": ("company address", "organization address", "account address",
                        "billing address", "billing street", "firmenadresse",
                        "adresse entreprise", "direccion empresa", "indirizzo azienda",
                        "bedrijfsadres"),
    "industry": ("industry", "sector", "branche", "industrie", "secteur", "sector industrial",
                 "industria", "settore", "bedrijfstak", "business type", "vertical"),
    "company_type": ("company type", "account type", "type", "organization type",
                     "firmentyp", "unternehmensart", "type d entreprise", "tipo de empresa",
                     "tipo di azienda", "bedrijfstype", "category", "kategorie"),
}
_ENTITY_RENAMES = {Entity.LEAD: {"company": "company_name"}, Entity.CONTACT: {}}
_LOOKUP: dict[str, str] = {}
_RANK: dict[str, tuple[str, int]] = {}  # spelling -> (field, place in the field's list)
for _field, _names in _SPELLINGS.items():
    for _place, _name in enumerate(_names):
        for _spelling in (_name, _name.replace(" ", "")):  # "mobile phone", "MOBILEPHONE"
            _LOOKUP.setdefault(_spelling, _field)
            _RANK.setdefault(_spelling, (_field, _place))

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def fold(header: str) -> str:
    """"E-Mail-Adresse" -> "e mail adresse"; "firstName" -> "first name"; "Société" -> "societe"."""
    text = _CAMEL.sub(" ", ascii_fold(str(header)).replace("ß", "ss"))
    return _NOT_WORD.sub(" ", text.lower()).strip()


def guess_field(entity: Entity | str, header: str) -> str | None:
    """The field a header names on its own (the best candidate), or None."""
    found = _candidates(Entity(entity), header)
    return max(found)[1] if found else None


def _candidates(entity: Entity, header: str) -> list[tuple[int, str]]:
    """(score, field) for each field `header` may name. A header that is a field's spelling
    scores highest (the earlier in that field's list, the higher: "Job Title" over "Title");
    one that is a spelling once a prefix is taken off ("Contact: E-mail", "Business Phone",
    "Assistant's Phone") scores lower, so the plainer of two columns wins."""
    folded = fold(header)
    found: list[tuple[int, str]] = []
    exact = _RANK.get(folded) or _RANK.get(folded.replace(" ", ""))
    if exact is not None:
        found.append((1000 - exact[1], exact[0]))
    words = folded.split()
    for start in range(1, len(words)):
        if start >= 2 and start == len(words) - 1:
            break  # "UNSUB_CAMPAIGN_TITLE" is no title: one word left after a long prefix
        hit = _RANK.get(" ".join(words[start:]))
        if hit is not None and hit[0] != "full_name":
            found.append((500 - 20 * start - hit[1], hit[0]))
            break
    renamed = [(score, _ENTITY_RENAMES[entity].get(key, key)) for score, key in found]
    return [(score, key) for score, key in renamed if key in FIELDS[entity]]


_SALUTATIONS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "herr", "frau",
                "hr", "fr", "mme", "mlle", "m", "monsieur", "madame", "sr", "sra", "srta", "don",
                "dona", "sig", "sigra", "dhr", "mevr", "mw", "dott", "ing", "mag", "prof dr",
                "dr med", "dr ing", "lady", "lord", "rev", "mister"}


def _fits(key: str, values: list[str]) -> int:
    """How the column's values speak for `key` (0: nothing against it; negative: they do
    not look like it; None-like -10**6: never). An empty column loses to a filled one."""
    if not values:
        return -300
    share = len(values)
    if key == "title" and sum(fold(v) in _SALUTATIONS for v in values) * 2 >= share:
        return -10**6  # salutations, not job titles
    if key in ("email", "secondary_email", "company_email") and \
            sum("@" in v for v in values) * 2 < share:
        return -400
    if key in ("phone", "mobile", "company_phone") and \
            sum(sum(c.isdigit() for c in v) >= 5 for v in values) * 2 < share:
        return -400
    return 0


def guess_mapping(entity: Entity | str, headers: list[str],
                  frame: pd.DataFrame | None = None) -> dict[str, str | None]:
    """Header -> field key (None: not imported). Every header is scored for every field it
    may name, by its name and, given the file's rows (`frame`), by its values; the best
    pairs are taken first, each field once (a second email column becomes the secondary
    email)."""
    entity = Entity(entity)
    samples = _samples(frame, headers)
    scored = []
    for position, header in enumerate(headers):
        for score, key in _candidates(entity, header):
            if samples is not None:
                score += _fits(key, samples.get(header, []))
            if score > -10**5:
                scored.append((-score, position, key))
    mapping: dict[str, str | None] = dict.fromkeys(headers)
    taken: set[str] = set()
    for _, position, key in sorted(scored):
        header = headers[position]
        if mapping[header] is not None:
            continue
        if key in taken and key not in SEVERAL:
            if key != "email" or "secondary_email" in taken:
                continue
            key = "secondary_email"
        mapping[header] = key
        taken.add(key)
    if "full_name" in taken and {"first_name", "last_name"} <= taken:
        # Both parts are there: the full name would only repeat them.
        mapping = {h: (None if f == "full_name" else f) for h, f in mapping.items()}
    return mapping


def mapping_reasons(entity: Entity | str, headers: list[str], frame: pd.DataFrame | None,
                    mapping: dict[str, str | None]) -> dict[str, str]:
    """Why each column is imported as its field, or not at all, in a sentence for people."""
    entity = Entity(entity)
    samples = _samples(frame, headers) or {}
    by_field = {key: header for header, key in mapping.items() if key}
    reasons = {}
    for header in headers:
        values = samples.get(header, [])
        key = mapping.get(header)
        found = sorted(_candidates(entity, header), reverse=True)
        if key is not None:
            label = FIELDS[entity][key].label
            named = next((score for score, k in found if k == key), None)
            if named is None:
                why = ("a second email column, so the secondary email" if key ==
                       "secondary_email" else f"chosen as {label}")
            elif named > 500:  # the header is one of the field's own names
                why = f"its name is a usual name for {label}"
            else:
                why = f"its name ends in a usual name for {label}"
            reasons[header] = why + ("" if values else " (the column is empty)")
            continue
        if not found:
            reasons[header] = "no field of the workspace has a name like this"
            continue
        best = found[0][1]
        if best == "title" and _fits("title", values) == -10**6:
            reasons[header] = "its values are salutations (Mr., Ms., Dr.), not job titles"
        elif best in by_field:
            reasons[header] = (f"{FIELDS[entity][best].label} comes from “{by_field[best]}”, "
                               "which fits better" + ("" if values else
                                                      " (this column is empty)"))
        elif best == "full_name":
            reasons[header] = "the first and last name columns already give the name"
        else:
            reasons[header] = "not imported"
    return reasons


def _samples(frame: pd.DataFrame | None, headers: list[str]) -> dict[str, list[str]] | None:
    """The first 200 filled values of each column."""
    if frame is None:
        return None
    head = frame.head(1000)
    found = {}
    for position, header in enumerate(headers):
        if position >= head.shape[1]:
            continue
        column = head.iloc[:, position].fillna("").astype(str).str.strip()
        found[header] = column[column != ""].head(200).tolist()
    return found


def recognised_header_count(cells: list[str]) -> int:
    return sum(1 for cell in cells if _LOOKUP.get(fold(cell)))


def check_mapping(entity: Entity | str, mapping: dict[str, str | None]) -> list[str]:
    """Mistakes in a mapping chosen by hand (unknown field, one field from two columns)."""
    entity = Entity(entity)
    problems, seen = [], {}
    for header, key in mapping.items():
        if not key:
            continue
        if key not in FIELDS[entity]:
            problems.append(f"“{key}” (for column “{header}”) is not a {entity.value} field; "
                            f"use one of {', '.join(FIELDS[entity])}.")
        elif key in seen and key not in SEVERAL:
            problems.append(f"Columns “{seen[key]}” and “{header}” are both mapped to {key}.")
        seen.setdefault(key, header)
    return problems


# ------------------------------------------------------------------------ full names

_NAME_PREFIXES = {"dr", "prof", "mr", "mrs", "ms", "miss", "herr", "frau", "mme", "m", "mlle",
                  "sr", "sra", "srta", "sig", "dott", "dhr", "mevr", "ing", "dipl"}
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "della", "du", "la", "le",
              "ten", "ter", "zu", "dos", "das", "y", "bin", "al"}


def split_full_name(name: str) -> tuple[str, str, str]:
    """"Dr. Anna Maria van der Berg" -> ("Anna", "Maria", "van der Berg");
    "Berg, Anna" -> ("Anna", "", "Berg"). Honorifics are dropped."""
    text = " ".join(str(name).split())
    if not text:
        return "", "", ""
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        first_words = first.split()
        return (first_words[0] if first_words else "", " ".join(first_words[1:]), last)
    words = text.split(" ")
    while len(words) > 1 and words[0].lower().rstrip(".") in _NAME_PREFIXES:
        words = words[1:]
    if len(words) == 1:
        return "", "", words[0]
    last_start = len(words) - 1
    while last_start > 1 and words[last_start - 1].lower() in _PARTICLES:
        last_start -= 1
    return words[0], " ".join(words[1:last_start]), " ".join(words[last_start:])
