"""A ready-to-fill .xlsx per entity: the headers the importer recognises, one example row and
drop-down lists for the country and yes/no columns."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from crm.access import Entity
from crm.importing.fields import FIELDS
from crm.importing.values import country_names

_SKIP = {"full_name", "newsletter_opt_out"}  # the template says it as "Newsletter"
EXAMPLE = {
    "first_name": "Anna", "middle_name": "Maria", "last_name": "Berg", "title": "Head of Sales",
    "email": "anna.berg@example.com", "secondary_email": "", "phone": "+49 30 1234567",
    "mobile": "+49 170 1234567", "country": "Germany", "city": "Berlin",
    "address": "Friedrichstraße 1", "description": "Met at the trade show",
    "lead_source": "Trade show", "vip": "No", "newsletter": "Yes", "disqualified": "No",
    "owner": "", "date_added": "2026-01-15", "company": "Example GmbH",
    "company_name": "Example GmbH", "company_email": "info@example.com",
    "company_phone": "+49 30 7654321", "website": "https://example.com",
    "company_address": "Friedrichstraße 1, Berlin", "industry": "Machinery",
    "company_type": "Distributor",
}


def template(entity: Entity | str) -> bytes:
    entity = Entity(entity)
    fields = [f for f in FIELDS[entity].values() if f.key not in _SKIP]
    book = Workbook()
    sheet = book.active
    sheet.title = f"{entity.value.capitalize()}s"
    sheet.append([f.label for f in fields])
    sheet.append([EXAMPLE.get(f.key, "") for f in fields])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    lists = book.create_sheet("Lists")
    lists.sheet_state = "hidden"
    names = country_names()
    for row, name in enumerate(sorted(names.values()), start=1):
        lists.cell(row=row, column=1, value=name)
    countries = DataValidation(type="list", formula1=f"=Lists!$A$1:$A${len(names)}",
                               allow_blank=True)
    yes_no = DataValidation(type="list", formula1='"Yes,No"', allow_blank=True)
    sheet.add_data_validation(countries)
    sheet.add_data_validation(yes_no)
    for position, spec in enumerate(fields, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(14, len(spec.label) + 4)
        if spec.kind == "country":
            countries.add(f"{letter}2:{letter}10000")
        elif spec.kind == "flag":
            yes_no.add(f"{letter}2:{letter}10000")
        elif spec.kind == "phone":
            for row in range(2, 3):
                sheet.cell(row=row, column=position).number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
