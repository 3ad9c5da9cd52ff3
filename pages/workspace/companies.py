"""Companies: the list (industry, type, country, contacts, manager), add, detail with contacts."""

from crm.records import companies
from crm.ui.company_forms import add_company_dialog, company_detail
from crm.ui.list_page import ListPage, render
from crm.ui.session import current_user, database

render(
    ListPage(
        spec=companies.COMPANIES,
        title="Companies",
        save_edits=companies.save_edits,
        to_changes=companies.grid_changes,
        set_vip=None,
        add=add_company_dialog,
        add_label="Add company",
        detail=company_detail,
    ),
    current_user(),
    database(),
)
