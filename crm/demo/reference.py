"""The demo's reference data: its sign-ins, departments, countries with their cities and
names, the words company names are made of, notes, tags, sources and the mailings it sent.

Plain values only; crm.demo.builder turns them into rows.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from crm.identity.roles import Role

# Public demo credentials, shown on the sign-in page in demo mode; never a real secret.
DEMO_PASSWORD = "demo-crm-2026"  # noqa: S105

ROLE_USERS: tuple[tuple[str, Role, str | None], ...] = (
    ("admin", Role.ADMIN, None),
    ("company.manager", Role.COMPANY_MANAGER, None),
    ("super.operator", Role.SUPER_OPERATOR, None),
    ("operator", Role.OPERATOR, "Europe"),
    ("sales.manager", Role.SALES_MANAGER, "Europe"),
    ("analyst", Role.ANALYST, None),
)
DEMO_SIGN_INS: list[tuple[str, str]] = [(name, role.label) for name, role, _ in ROLE_USERS]

ANCHOR = datetime(2026, 11, 1)  # "today" of the demo data
HISTORY_DAYS = 3 * 365
DAY_S = 86_400
ANCHOR_S = calendar.timegm(ANCHOR.timetuple())  # "today", in seconds
START_S = ANCHOR_S - HISTORY_DAYS * DAY_S  # the first day of the history
STAFF_EMAIL_DOMAIN = "demo-crm.example"

DEPARTMENTS = ("Europe", "North America", "Latin America", "Asia Pacific", "Middle East & Africa")
EU, NA, LA, AP, ME = range(5)
# Extra sales managers per department (besides `sales.manager` in Europe).
SALES_MANAGERS_PER_DEPARTMENT = (6, 5, 3, 4, 2)


@dataclass(frozen=True)
class Country:
    code: str
    weight: float
    department: int
    names: str  # Faker locale, or "ja"/"zh" (Faker romanised), or "ar"/"ko"/"he" (lists below)
    streets: str | tuple[str, ...]  # Faker locale, or street names to number
    calling: str
    tld: str
    cities: tuple[str, ...]  # most common first
    legal: tuple[str, ...]


COUNTRIES: tuple[Country, ...] = (
    Country("DE", 14, EU, "de_DE", "de_DE", "+49", "de",
             ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart",
              "Düsseldorf", "Leipzig", "Nürnberg", "Hannover", "Bremen", "Dresden"),
             ("GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG", "SE")),
    Country("GB", 7, EU, "en_GB", "en_GB", "+44", "co.uk",
             ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Edinburgh",
              "Sheffield", "Liverpool", "Cambridge"),
             ("Ltd", "Ltd", "Limited", "PLC", "LLP")),
    Country("FR", 6, EU, "fr_FR", "fr_FR", "+33", "fr",
             ("Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux", "Nantes",
              "Strasbourg", "Nice", "Rennes"),
             ("SAS", "SAS", "SA", "SARL")),
    Country("IT", 5, EU, "it_IT", "it_IT", "+39", "it",
             ("Milano", "Roma", "Torino", "Bologna", "Napoli", "Firenze", "Verona", "Padova",
              "Brescia", "Genova"),
             ("S.p.A.", "S.r.l.", "S.r.l.", "S.n.c.")),
    Country("ES", 4, EU, "es_ES", "es_ES", "+34", "es",
             ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Zaragoza", "Málaga"),
             ("S.A.", "S.L.", "S.L.", "S.L.U.")),
    Country("NL", 3, EU, "nl_NL", "nl_NL", "+31", "nl",
             ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Den Haag", "Groningen"),
             ("B.V.", "B.V.", "N.V.", "V.O.F.")),
    Country("PL", 3, EU, "pl_PL", "pl_PL", "+48", "pl",
             ("Warszawa", "Kraków", "Wrocław", "Poznań", "Gdańsk", "Łódź", "Katowice"),
             ("Sp. z o.o.", "Sp. z o.o.", "S.A.", "Sp.j.")),
    Country("CH", 2.5, EU, "de_CH", "de_CH", "+41", "ch",
             ("Zürich", "Basel", "Bern", "Genève", "Lausanne", "Luzern", "St. Gallen"),
             ("AG", "AG", "GmbH", "SA", "Sàrl")),
    Country("AT", 2, EU, "de_AT", "de_AT", "+43", "at",
             ("Wien", "Graz", "Linz", "Salzburg", "Innsbruck"),
             ("GmbH", "GmbH", "AG", "KG")),
    Country("SE", 2, EU, "sv_SE", "sv_SE", "+46", "se",
             ("Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås"), ("AB",)),
    Country("BE", 1.5, EU, "nl_BE", "nl_BE", "+32", "be",
             ("Brussel", "Antwerpen", "Gent", "Liège", "Leuven"),
             ("NV", "BV", "SA", "SRL")),
    Country("DK", 1, EU, "da_DK", "da_DK", "+45", "dk",
             ("København", "Aarhus", "Odense", "Aalborg"), ("A/S", "ApS")),
    Country("NO", 0.8, EU, "no_NO", "no_NO", "+47", "no",
             ("Oslo", "Bergen", "Trondheim", "Stavanger"), ("AS", "ASA")),
    Country("FI", 0.8, EU, "fi_FI", "fi_FI", "+358", "fi",
             ("Helsinki", "Espoo", "Tampere", "Turku", "Oulu"), ("Oy", "Oyj")),
    Country("IE", 0.8, EU, "en_IE", "en_IE", "+353", "ie",
             ("Dublin", "Cork", "Galway", "Limerick"), ("Ltd", "Limited", "DAC")),
    Country("PT", 0.8, EU, "pt_PT", "pt_PT", "+351", "pt",
             ("Lisboa", "Porto", "Braga", "Coimbra"), ("Lda.", "S.A.")),
    Country("CZ", 1, EU, "cs_CZ", "cs_CZ", "+420", "cz",
             ("Praha", "Brno", "Ostrava", "Plzeň"), ("s.r.o.", "a.s.")),
    Country("HU", 0.5, EU, "hu_HU", "hu_HU", "+36", "hu",
             ("Budapest", "Debrecen", "Szeged", "Győr"), ("Kft.", "Zrt.")),
    Country("RO", 0.5, EU, "ro_RO", "ro_RO", "+40", "ro",
             ("București", "Cluj-Napoca", "Timișoara", "Iași"), ("SRL", "SA")),
    Country("US", 12, NA, "en_US", "en_US", "+1", "com",
             ("New York", "Chicago", "Houston", "Los Angeles", "Atlanta", "Boston", "Seattle",
              "Dallas", "Denver", "Detroit", "Minneapolis", "Charlotte", "San Diego", "Phoenix",
              "Pittsburgh"),
             ("Inc.", "Inc.", "LLC", "Corp.", "Corporation", "Co.", "Company")),
    Country("CA", 2.5, NA, "en_CA", "en_CA", "+1", "ca",
             ("Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa", "Edmonton", "Winnipeg"),
             ("Inc.", "Ltd.", "Corp.")),
    Country("BR", 3, LA, "pt_BR", "pt_BR", "+55", "com.br",
             ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Porto Alegre",
              "Campinas", "Recife"),
             ("Ltda.", "Ltda.", "S.A.", "EIRELI")),
    Country("MX", 2.5, LA, "es_MX", "es_MX", "+52", "com.mx",
             ("Ciudad de México", "Monterrey", "Guadalajara", "Puebla", "Querétaro", "Tijuana"),
             ("S.A. de C.V.", "S.A. de C.V.", "S. de R.L. de C.V.")),
    Country("AR", 1, LA, "es_AR", "es_AR", "+54", "com.ar",
             ("Buenos Aires", "Córdoba", "Rosario", "Mendoza"), ("S.A.", "S.R.L.")),
    Country("CL", 0.8, LA, "es_CL", "es_CL", "+56", "cl",
             ("Santiago", "Valparaíso", "Concepción", "Antofagasta"), ("S.A.", "SpA", "Ltda.")),
    Country("CO", 0.8, LA, "es_CO", "es_CO", "+57", "com.co",
             ("Bogotá", "Medellín", "Cali", "Barranquilla"), ("S.A.S.", "S.A.", "Ltda.")),
    Country("JP", 3, AP, "ja", ("Marunouchi", "Nihonbashi", "Ginza", "Shiba", "Umeda",
                                  "Nishi-Shinjuku", "Sakae", "Minatomirai", "Hakata-ekimae",
                                  "Kita-Aoyama"),
             "+81", "co.jp",
             ("Tokyo", "Osaka", "Nagoya", "Yokohama", "Fukuoka", "Sapporo", "Kobe"),
             ("Co., Ltd.", "Co., Ltd.", "K.K.", "Corporation")),
    Country("CN", 3, AP, "zh", ("Nanjing Road", "Huaihai Road", "Jianguo Road",
                                  "Century Avenue", "Shennan Avenue", "Tianhe Road",
                                  "Zhongshan Road", "Renmin Road", "Jiefang Road"),
             "+86", "com.cn",
             ("Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Suzhou", "Hangzhou", "Tianjin"),
             ("Co., Ltd.", "Co., Ltd.", "Ltd.")),
    Country("AU", 2.5, AP, "en_AU", "en_AU", "+61", "com.au",
             ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Canberra"),
             ("Pty Ltd", "Pty Ltd", "Limited")),
    Country("IN", 3, AP, "en_IN", "en_IN", "+91", "co.in",
             ("Mumbai", "Bengaluru", "New Delhi", "Chennai", "Pune", "Hyderabad", "Ahmedabad",
              "Kolkata"),
             ("Pvt. Ltd.", "Private Limited", "Ltd.")),
    Country("KR", 1.5, AP, "ko", ("Teheran-ro", "Sejong-daero", "Gangnam-daero", "Olympic-ro",
                                    "Jong-ro", "Eulji-ro", "Haeundae-ro", "Toegye-ro"),
             "+82", "co.kr", ("Seoul", "Busan", "Incheon", "Daegu", "Daejeon"),
             ("Co., Ltd.", "Corp.")),
    Country("SG", 1, AP, "zh", ("Orchard Road", "Raffles Place", "Shenton Way",
                                  "Marina Boulevard", "Robinson Road", "Cecil Street",
                                  "Anson Road"),
             "+65", "com.sg", ("Singapore",), ("Pte. Ltd.", "Pte Ltd")),
    Country("NZ", 0.6, AP, "en_NZ", "en_NZ", "+64", "co.nz",
             ("Auckland", "Wellington", "Christchurch", "Hamilton"), ("Limited", "Ltd")),
    Country("AE", 1, ME, "ar", ("Sheikh Zayed Road", "Al Wasl Road", "Corniche Road",
                                  "Khalifa Street", "Al Maktoum Road", "Hamdan Street"),
             "+971", "ae", ("Dubai", "Abu Dhabi", "Sharjah"), ("LLC", "FZE", "FZCO")),
    Country("SA", 0.8, ME, "ar", ("King Fahd Road", "Olaya Street", "Prince Sultan Road",
                                    "Tahlia Street", "King Abdulaziz Road"),
             "+966", "com.sa", ("Riyadh", "Jeddah", "Dammam"), ("LLC", "Co.", "Company")),
    Country("TR", 1.5, ME, "tr_TR", "tr_TR", "+90", "com.tr",
             ("İstanbul", "Ankara", "İzmir", "Bursa", "Antalya"), ("A.Ş.", "Ltd. Şti.")),
    Country("ZA", 1.2, ME, "zu_ZA", "zu_ZA", "+27", "co.za",
             ("Johannesburg", "Cape Town", "Durban", "Pretoria"), ("(Pty) Ltd", "Ltd")),
    Country("IL", 0.6, ME, "he", ("Rothschild Boulevard", "Dizengoff Street", "Jaffa Road",
                                    "Herzl Street", "Ibn Gabirol Street", "Allenby Street"),
             "+972", "co.il", ("Tel Aviv", "Jerusalem", "Haifa", "Herzliya"), ("Ltd.",)),
    Country("EG", 0.6, ME, "ar", ("Tahrir Street", "Corniche El Nil", "Salah Salem Street",
                                    "Abbas El Akkad Street", "Ramses Street"),
             "+20", "com.eg", ("Cairo", "Alexandria", "Giza"), ("S.A.E.", "LLC")),
    Country("MA", 0.4, ME, "ar", ("Boulevard Mohammed V", "Avenue Hassan II",
                                    "Boulevard d'Anfa", "Boulevard Zerktouni"),
             "+212", "ma", ("Casablanca", "Rabat", "Marrakech", "Tanger"), ("SARL", "SA")),
    Country("NG", 0.6, ME, "en_NG", "en_US", "+234", "com.ng",
             ("Lagos", "Abuja", "Ibadan", "Port Harcourt"), ("Ltd", "Plc")),
    Country("KE", 0.4, ME, "en_KE", "en_US", "+254", "co.ke",
             ("Nairobi", "Mombasa", "Kisumu"), ("Ltd", "Limited")),
)

HAND_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # (male first names, female first names, last names)
    "ar": (
        ("Mohammed", "Ahmed", "Omar", "Khalid", "Youssef", "Hassan", "Ali", "Karim", "Tariq",
         "Ibrahim", "Samir", "Nabil", "Faisal", "Hamza", "Rami", "Ziad", "Walid", "Adel",
         "Mustafa", "Yasser"),
        ("Fatima", "Aisha", "Layla", "Mariam", "Nour", "Rania", "Salma", "Huda", "Yasmin",
         "Dina", "Leila", "Amira", "Hana", "Sara", "Noura", "Reem", "Lina", "Zainab", "Samira",
         "Farah"),
        ("Al-Farsi", "Haddad", "Nasser", "Khoury", "Saleh", "Mansour", "Hamdan", "Al-Mansouri",
         "Aziz", "Rahman", "El-Sayed", "Abdullah", "Al-Hashimi", "Qasim", "Bakr", "Suleiman",
         "Darwish", "Al-Amiri", "Hussein", "Farouk", "Karam", "Ismail", "Al-Najjar", "Bennani",
         "El Idrissi", "Tazi", "Alaoui", "Mahmoud", "Fahmy", "Shalaby", "Al-Otaibi",
         "Al-Qahtani", "Al-Shehri", "Al-Zahrani", "Khalil", "Yousef", "Jaber", "Sabbagh",
         "Awad", "Hamdi"),
    ),
    "ko": (
        ("Min-jun", "Seo-jun", "Do-yun", "Ji-ho", "Ha-jun", "Joon-young", "Sung-min",
         "Hyun-woo", "Jae-won", "Dong-hyun", "Tae-yang", "Woo-jin", "Sang-hoon", "Young-ho",
         "Jin-woo"),
        ("Seo-yeon", "Ha-eun", "Ji-woo", "Soo-ah", "Ji-min", "Yu-na", "Eun-ji", "Hye-jin",
         "Min-seo", "Da-eun", "Su-bin", "Yeon-woo", "Ji-yeon", "So-yeon", "Hae-won"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han",
         "Oh", "Seo", "Shin", "Kwon", "Hwang", "Ahn", "Song", "Yoo", "Hong", "Jeon", "Ko",
         "Moon", "Yang", "Son", "Bae", "Baek", "Heo", "Nam", "Noh"),
    ),
    "he": (
        ("Avi", "Yossi", "Daniel", "Eitan", "Noam", "Omer", "Itai", "Ariel", "Amit", "Yonatan",
         "Guy", "Ido", "Erez", "Tal", "Uri", "Nir", "Ronen", "Lior", "Matan", "Gil"),
        ("Noa", "Yael", "Tamar", "Maya", "Shira", "Michal", "Roni", "Adi", "Efrat", "Hila",
         "Liat", "Orly", "Dana", "Keren", "Neta", "Sivan", "Talia", "Yarden", "Inbal", "Merav"),
        ("Cohen", "Levi", "Mizrahi", "Peretz", "Biton", "Friedman", "Shapiro", "Katz",
         "Azoulay", "Ben-David", "Goldberg", "Avraham", "Dahan", "Amar", "Ohana", "Gabay",
         "Rosenberg", "Weiss", "Segal", "Barak", "Shalom", "Hadad", "Malka", "Ben-Ami", "Stern",
         "Kaplan", "Golan", "Sasson", "Levy", "Navon"),
    ),
}

WORDS = (
    "Industries", "Systems", "Technologies", "Solutions", "Group", "Trading", "Logistics",
    "Engineering", "Holding", "Partners", "Consulting", "Manufacturing", "Electronics", "Foods",
    "Chemicals", "Medical", "Energy", "Services", "International", "Supply", "Automation",
    "Instruments", "Textiles", "Motors", "Labs", "Components", "Machinery", "Plastics",
    "Packaging", "Software", "Robotics", "Pharma", "Distribution", "Materials", "Tools", "Metals",
)
BRAND_FIRST = (
    "Nordic", "Atlantic", "Pacific", "Alpine", "Global", "United", "Central", "Pioneer", "Summit",
    "Apex", "Blue", "Green", "Silver", "Golden", "Bright", "Prime", "Vertex", "Delta", "Omega",
    "Nova", "Polar", "Euro", "Trans", "Inter", "Metro", "Sun", "Star", "Crown", "Royal", "Eagle",
    "Falcon", "Oak", "Cedar", "River", "Lake", "Harbor", "Ocean", "Mountain", "Northern",
    "Southern", "Eastern", "Western",
)
BRAND_SECOND = (
    "Steel", "Water", "Power", "Tech", "Data", "Line", "Works", "Logic", "Wave", "Source", "Point",
    "Bridge", "Gate", "Field", "Stone", "Light", "Path", "Core", "Flow", "Link", "Net", "Sphere",
    "Vision", "Craft", "Forge", "Dynamics", "Motion", "Signal", "Vector", "Matrix",
)
# Company name patterns: L, "L & L2", "L-L2", "L Word", "Brand", "Brand Word".
PATTERN_P = (0.26, 0.12, 0.10, 0.25, 0.15, 0.12)

TITLES = (
    "Purchasing Manager", "Head of Procurement", "Managing Director", "CEO", "Sales Director",
    "Technical Director", "Buyer", "Senior Buyer", "Operations Manager", "Project Manager",
    "CTO", "CFO", "Office Manager", "Product Manager", "Marketing Manager", "Engineer",
    "Owner", "Category Manager", "Supply Chain Manager", "Export Manager", "Plant Manager",
    "Quality Manager", "Head of IT", "Key Account Manager", "Sales Representative",
    "Assistant to the CEO", "Logistics Coordinator", "R&D Manager", "Head of Marketing",
    "Maintenance Manager", "Finance Manager", "General Manager", "Service Manager",
    "Business Development Manager", "Store Manager", "Procurement Specialist",
)
CONTACT_NOTES = (
    "Prefers contact by phone.", "Decision maker for all purchases above 10k.",
    "Met at the trade show; interested in the new product line.",
    "Asked for a quarterly business review.", "Responsible for the annual framework contract.",
    "Speaks English and German.", "Please copy the assistant on all offers.",
    "Budget approval in Q1 every year.", "Long-standing customer, very loyal.",
    "Asked not to be called before 10 am.", "Evaluating a competitor's offer.",
    "Joined the company recently; introduce our portfolio.",
    "Technical questions go to the engineering team.", "Prefers invoices by email.",
    "Reference customer; agreed to case study.", "Visits our booth every year.",
    "Requested training for the service team.", "Interested in extended warranty.",
    "Call back about the pending quote.", "Moved from purchasing to operations.",
)
LEAD_NOTES = (
    "Asked for a quote via the website form.", "Visited our booth at the trade show.",
    "Requested a product demo.", "Downloaded the product brochure.",
    "Wants pricing for 500+ units.", "Referred by an existing customer.",
    "Looking for a local distributor.", "Called about delivery times.",
    "Interested in a pilot project next quarter.", "Attended our webinar.",
    "Asked whether we ship to their country.", "Follow up after the summer holidays.",
    "Comparing three suppliers.", "Needs a certificate of conformity.",
    "Budget not confirmed yet.", "Contact came through LinkedIn.",
)
FREE_MAIL = (
    "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "gmx.de", "web.de",
    "orange.fr", "libero.it", "proton.me",
)
TAGS = (
    "Key account", "Prospect", "Decision maker", "Technical contact", "Trade show 2025",
    "Webinar", "Budget holder", "Reference customer", "Trade show 2026", "Partner program",
    "Price sensitive", "Follow-up", "Former customer", "Hot lead", "Press", "Do not call",
)
LEAD_TAGS = ("Prospect", "Trade show 2025", "Webinar", "Trade show 2026", "Follow-up", "Hot lead")
COMPANY_TYPE_WEIGHTS = {
    "End customer": 55, "Distributor": 12, "Dealer": 12, "Reseller": 12, "Partner": 6,
    "Competitor": 3,
}
CONTACT_SOURCE_WEIGHTS = {
    "Website form": 20, "Email request": 12, "Phone call": 10, "Trade show": 18, "Referral": 15,
    "Advertising": 5, "Social media": 5, "Manual entry": 10, "Import": 5,
}
LEAD_SOURCE_WEIGHTS = {
    "Website form": 30, "Email request": 15, "Phone call": 10, "Trade show": 15, "Referral": 8,
    "Advertising": 7, "Social media": 7, "Manual entry": 5, "Import": 3,
}


@dataclass(frozen=True)
class Mailing:
    name: str
    subject: str
    department: int | None
    sent: datetime


MAILINGS = (
    Mailing("Spring newsletter 2025", "What's new this spring", None, datetime(2025, 3, 18, 9)),
    Mailing("Autumn newsletter 2025", "Autumn news: products, events and people", None,
             datetime(2025, 9, 16, 9)),
    Mailing("North America webinar invitation", "Join our live product webinar", NA,
             datetime(2025, 11, 4, 15)),
    Mailing("Price list 2026", "Our 2026 price list is here", None, datetime(2026, 1, 13, 9)),
    Mailing("Latin America partner days 2026", "Invitación: Partner Days 2026", LA,
             datetime(2026, 4, 21, 13)),
    Mailing("Summer newsletter 2026", "Summer update from the team", None,
             datetime(2026, 6, 9, 9)),
    Mailing("Asia Pacific product launch", "Introducing our new product line", AP,
             datetime(2026, 9, 8, 1)),
)
SEND_SPREAD_S = 2_700  # a mailing's messages go out over 45 minutes
