"""What a spreadsheet column can be imported as, and the automatic guess from its header.

Headers are compared folded (no accents, no case, no punctuation), so "E-Mail", "e_mail" and
"EMail" are one spelling. The spellings cover English, German, French, Spanish, Italian and
Dutch, and the field names other CRMs export (Salesforce, HubSpot, Zoho, Pipedrive, Odoo, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.access import Entity
from crm.names import ascii_fold


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str
    # text | email | phone | country | flag | opt_out | date | owner | name | vocab
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
    ImportField("owner", "Assigned manager", "owner", "owner_id"),
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
CONTACT_ONLY = (ImportField("company", "Company", "company", "company_id"),)

FIELDS: dict[Entity, dict[str, ImportField]] = {
    Entity.LEAD: {f.key: f for f in (*PERSON, *LEAD_ONLY)},
    Entity.CONTACT: {f.key: f for f in (*PERSON, *CONTACT_ONLY)},
}
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
                    "tussenvoegsel"),
    "last_name": ("last name", "lastname", "last", "surname", "family name", "lname",
                  "nachname", "familienname", "nom de famille", "apellido", "apellidos",
                  "cognome", "achternaam"),
    "title": ("title", "job title", "position", "role", "function", "jobtitle", "salutation",
              "anrede", "titel", "position", "funktion", "berufsbezeichnung", "titre", "poste",
              "fonction", "civilite", "cargo", "puesto", "titulo", "titolo", "ruolo",
              "qualifica", "functie", "aanhef", "designation"),
    "email": ("email", "e mail", "email address", "e mail address", "mail", "email 1",
              "primary email", "work email", "business email", "emailaddress", "e mail adresse",
              "emailadresse", "mailadresse", "adresse e mail", "adresse email", "courriel",
              "correo", "correo electronico", "posta elettronica", "indirizzo email",
              "e mailadres", "emailadres", "mailadres", "email1", "personal email"),
    "secondary_email": ("secondary email", "email 2", "email2", "other email",
                        "alternative email", "alternate email", "second email",
                        "weitere e mail", "e mail 2", "zweite e mail", "autre email",
                        "email secondaire", "correo secundario", "email secondaria",
                        "tweede e mail"),
    "phone": ("phone", "telephone", "phone number", "tel", "work phone", "business phone",
              "office phone", "phone 1", "landline", "telefon", "telefonnummer", "tel nr",
              "festnetz", "telephone fixe", "numero de telephone", "telefono", "numero de telefono",
              "telefoonnummer", "telefoon", "phone1", "direct phone", "main phone"),
    "mobile": ("mobile", "mobile phone", "cell", "cell phone", "cellphone", "mobile number",
               "handy", "mobil", "mobiltelefon", "mobilnummer", "handynummer", "portable",
               "telephone portable", "movil", "telefono movil", "celular", "cellulare",
               "mobiel", "mobiele telefoon", "gsm", "mobile phone number"),
    "country": ("country", "country code", "country name", "nation", "land", "staat", "pays",
                "pais", "paese", "nazione", "country region", "countryregion",
                "mailing country", "billing country", "country iso"),
    "city": ("city", "town", "ort", "stadt", "wohnort", "ville", "ciudad", "localidad",
             "citta", "comune", "plaats", "woonplaats", "stad", "mailing city",
             "billing city", "locality"),
    "address": ("address", "street", "street address", "address line 1", "mailing street",
                "adresse", "strasse", "anschrift", "rue", "direccion", "calle", "indirizzo",
                "via", "adres", "straat", "postal address", "mailing address"),
    "description": ("description", "notes", "note", "comment", "comments", "remarks",
                    "beschreibung", "notiz", "notizen", "bemerkung", "bemerkungen",
                    "kommentar", "commentaire", "commentaires", "remarque", "descripcion",
                    "notas", "comentarios", "descrizione", "note", "commenti", "beschrijving",
                    "notities", "opmerkingen", "about"),
    "lead_source": ("lead source", "source", "leadsource", "origin", "channel", "lead origin",
                    "quelle", "herkunft", "lead quelle", "origine", "source du lead", "fuente",
                    "origen", "fonte", "provenienza", "bron", "herkomst"),
    "vip": ("vip", "is vip", "key account", "important", "vip kunde", "vip client"),
    "newsletter": ("newsletter", "newsletter opt in", "opt in", "optin", "subscribed",
                   "massmail", "mass mail", "mailing", "email opt in", "marketing emails",
                   "newsletter abonniert", "abonniert", "einwilligung", "abonne",
                   "inscrit newsletter", "boletin", "suscrito", "iscritto", "nieuwsbrief",
                   "subscribe", "subscription", "marketing consent", "has opted in",
                   "subscription status", "email subscription status", "newsletter status",
                   "marketing contact status", "email marketing consent", "consent",
                   "accepts marketing", "marketing opt in", "email opt in status"),
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
                   "aangemaakt", "aanmaakdatum", "datum toegevoegd", "create time"),
    "company": ("company", "company name", "organization", "organisation", "organization name",
                "account", "account name", "employer", "business", "firm", "companyname",
                "firma", "unternehmen", "firmenname", "organisation name", "societe",
                "entreprise", "nom de l entreprise", "empresa", "compania", "nombre de empresa",
                "azienda", "societa", "ragione sociale", "bedrijf", "bedrijfsnaam",
                "onderneming", "org name", "organization name"),
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
for _field, _names in _SPELLINGS.items():
    for _name in _names:
        _LOOKUP.setdefault(_name, _field)

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def fold(header: str) -> str:
    """"E-Mail-Adresse" -> "e mail adresse"; "firstName" -> "first name"; "Société" -> "societe"."""
    text = _CAMEL.sub(" ", ascii_fold(str(header)).replace("ß", "ss"))
    return _NOT_WORD.sub(" ", text.lower()).strip()


def guess_field(entity: Entity | str, header: str) -> str | None:
    entity = Entity(entity)
    folded = fold(header)
    found = _LOOKUP.get(folded) or _LOOKUP.get(folded.replace(" ", ""))
    if found is None:
        # "Contact: E-mail", "Lead_Email", "Kontakt Vorname": try the header without a prefix.
        words = folded.split()
        for start in range(1, len(words)):
            found = _LOOKUP.get(" ".join(words[start:]))
            if found is not None and found not in ("full_name",):
                break
            found = None
    if found is None:
        return None
    found = _ENTITY_RENAMES[entity].get(found, found)
    return found if found in FIELDS[entity] else None


def guess_mapping(entity: Entity | str, headers: list[str]) -> dict[str, str | None]:
    """Header -> field key (None: not imported). Each field is taken by its first column."""
    taken: set[str] = set()
    mapping: dict[str, str | None] = {}
    for header in headers:
        found = guess_field(entity, header)
        if found in taken:
            found = "secondary_email" if found == "email" and "secondary_email" not in taken \
                else None
        mapping[header] = found
        if found:
            taken.add(found)
    if "full_name" in taken and {"first_name", "last_name"} <= taken:
        # Both parts are there: the full name would only repeat them.
        mapping = {h: (None if f == "full_name" else f) for h, f in mapping.items()}
    return mapping


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
        elif key in seen:
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
