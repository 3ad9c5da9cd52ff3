"""The Overview's widgets: the sidebar's department and period, the headline metrics, and
one panel per chart (what it counts, its sheet, its click-through to the list).

Figures come from crm.analysis.overview (SQL, in the user's scope), cached per user for a minute.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from crm.access import Action, Entity, scope, sees_all_departments
from crm.analysis import overview
from crm.analysis.overview import Figures, OverviewFilter
from crm.common.clock import now
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.lists.export import ExportColumn
from crm.lists.filters import NONE_VALUE, date_range_value
from crm.records.leads import LeadStatus
from crm.records.newsletter import LOOKS, NewsletterStatus
from crm.storage.db import Database
from crm.ui import charts, text
from crm.ui.charts import Panel
from crm.ui.list_links import ListLink

NOUNS = {Entity.LEAD: ("lead", "leads"), Entity.CONTACT: ("contact", "contacts")}
SERIES = {Entity.LEAD.value: "Leads", Entity.CONTACT.value: "Contacts"}
TOP_MANAGERS = 20
TOP_COUNTRIES = 15


# ----------------------------------------------------------------------- sidebar


def sidebar_filter(user: User, db: Database) -> OverviewFilter:
    """Department (for roles that see several) and period, applied to every figure."""
    with st.sidebar:
        st.subheader("Filters")
        chosen: tuple[int, ...] = ()
        departments = overview.departments(user, db)
        if departments:
            picked = st.multiselect("Department", list(departments),
                                    format_func=departments.get, key="overview_departments",
                                    placeholder="All departments")
            chosen = tuple(int(d) for d in picked)
        elif user.department_name:
            text.caption("Department: {}", user.department_name)
        period = st.selectbox("Period (date added)", list(overview.PERIODS),
                              format_func=overview.PERIODS.get, key="overview_period")
        today = now().date()
        if period == "custom":
            picked_days = st.date_input("From – to", value=(date(today.year, 1, 1), today),
                                        key="overview_range", format="YYYY-MM-DD")
            days = tuple(picked_days) if isinstance(picked_days, tuple | list) else ()
            start = days[0] if days else None
            end = days[1] if len(days) > 1 else start  # while only the first day is picked
        else:
            start, end = overview.period_range(period, today)
    return OverviewFilter(departments=chosen, start=start, end=end)


@st.cache_data(ttl=600, max_entries=200, show_spinner=False)
def _figures(_db: Database, url: str, scope_key: tuple, _user: User, flt: OverviewFilter,
             entity: Entity, generation: int) -> Figures:
    # Kept per scope (every figure is counted inside the user's scope, so the people of one
    # department share them) until the database's generation moves on (any change, anywhere):
    # at a million rows the page's queries take a few hundred ms.
    return overview.figures(_user, _db, flt, entity)


def figures(user: User, db: Database, flt: OverviewFilter, entity: Entity) -> Figures:
    scopes = tuple((c.sql, c.params) for c in (scope(user, e, Action.VIEW)
                                               for e in (Entity.LEAD, Entity.CONTACT,
                                                         Entity.COMPANY)))
    return _figures(db, db.url, scopes, user, flt, entity, db.generation())


def scope_words(user: User, flt: OverviewFilter, departments: dict[int, str]) -> str:
    """"All departments, all time" / "Europe, 2026-01-01 to 2026-12-01"."""
    if flt.departments:
        where = ", ".join(departments.get(d, str(d)) for d in flt.departments)
    elif sees_all_departments(user):
        where = "All departments"
    elif len(departments) > 1:
        where = ", ".join(departments.values())
    else:
        where = f"The {user.department_name or 'your'} department"
    if flt.start and flt.end:
        when = f"added from {flt.start} to {flt.end}"
    elif flt.start or flt.end:
        when = f"added since {flt.start}" if flt.start else f"added until {flt.end}"
    else:
        when = "all time"
    return f"{where}, {when}."


# ----------------------------------------------------------------------- headline


def headline(figs: Figures) -> None:
    h = figs.headline
    cols = st.columns(6)
    cols[0].metric("Leads", f"{h.leads:,}")
    cols[1].metric("Open leads", f"{h.open_leads:,}", help="Not disqualified, not converted")
    cols[2].metric("Contacts", f"{h.contacts:,}")
    cols[3].metric("Companies", f"{h.companies:,}")
    cols[4].metric("VIP share of contacts", f"{h.vip_contact_share:.1%}",
                   help=text.md("{:,} of {:,} contacts are VIP", h.vip_contacts, h.contacts))
    cols[5].metric("VIP share of leads", f"{h.vip_lead_share:.1%}",
                   help=text.md("{:,} of {:,} leads are VIP", h.vip_leads, h.leads))


# ----------------------------------------------------------------------- panels


def _base(entity: Entity, flt: OverviewFilter) -> ListLink:
    return ListLink(Entity(entity), flt.list_filters())


def _month_link(entity: Entity, flt: OverviewFilter, month_key: str) -> ListLink:
    first = date.fromisoformat(f"{month_key}-01")
    start, end = overview.month_range(first, flt)
    return _base(entity, flt).narrowed(added=date_range_value(start, end))


def _month_keys(frame: pd.DataFrame) -> pd.Series:
    return frame["month"].dt.strftime("%Y-%m")


def _every_month(frame: pd.DataFrame, by: list[str], counts: list[str]) -> pd.DataFrame:
    """Months with nothing added get a bar of 0, so the axis shows time as it passed."""
    if frame.empty:
        return frame
    months = pd.date_range(frame["month"].min(), frame["month"].max(), freq="MS")
    if not by:
        return (frame.set_index("month")[counts].reindex(months, fill_value=0)
                .rename_axis("month").reset_index())
    keys = [months] + [sorted(frame[b].unique()) for b in by]
    index = pd.MultiIndex.from_product(keys, names=["month", *by])
    return (frame.set_index(["month", *by])[counts].reindex(index, fill_value=0)
            .reset_index())


def added_panel(figs: Figures) -> Panel:
    flt = figs.filter
    frame = _every_month(figs.added, ["entity"], ["added"])
    frame = frame.assign(month_key=_month_keys(frame) if not frame.empty else [],
                         of=frame["entity"].map(SERIES) if not frame.empty else [])
    return Panel(
        key="overview_added", title="Leads and contacts added per month",
        caption="How many leads and contacts were added each month (their date added), in "
                "the departments and period chosen. Click a bar for that month's list.",
        chart=charts.monthly_bars(frame, "added", "Added", series="of",
                                  fields=("month_key", "entity")) if not frame.empty else None,
        sheet=frame, columns=(ExportColumn("month", "Month", "date", 12),
                              ExportColumn("of", "Of", width=12),
                              ExportColumn("added", "Added", "int", 10)),
        links=((_base(Entity.LEAD, flt), "Open in the lead list"),
               (_base(Entity.CONTACT, flt), "Open in the contact list")),
        click=lambda p: _month_link(Entity(p["entity"]), flt, p["month_key"]),
    )


def conversion_panel(figs: Figures) -> Panel:
    import altair as alt

    flt = figs.filter
    frame = _every_month(figs.conversion, [], ["added", "converted"])
    if not frame.empty:
        frame = frame.assign(month_key=_month_keys(frame),
                             rate=overview.ratio(frame["converted"], frame["added"]))
    return Panel(
        key="overview_conversion", title="Conversion rate per month",
        caption="Of the leads added each month, the share converted into a contact since "
                "(converted ÷ added that month); a recent month can still rise. Click a bar "
                "for the leads added that month."
                + ("" if frame.empty or frame["converted"].sum() else
                   " No lead added in this period has been converted yet."),
        chart=charts.monthly_bars(
            frame, "rate", "Converted", percent=True,
            tooltip=(alt.Tooltip("added:Q", title="Added", format=","),
                     alt.Tooltip("converted:Q", title="Converted", format=","),
                     alt.Tooltip("rate:Q", title="Rate", format=".1%")))
        if not frame.empty else None,
        sheet=frame, columns=(ExportColumn("month", "Month", "date", 12),
                              ExportColumn("added", "Leads added", "int", 12),
                              ExportColumn("converted", "Converted since", "int", 15),
                              ExportColumn("rate", "Conversion rate", "percent", 15)),
        links=((_base(Entity.LEAD, flt), "Open in the lead list"),),
        click=lambda p: _month_link(Entity.LEAD, flt, p["month_key"]),
    )


def _with_status(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {s.value: i for i, s in enumerate(NewsletterStatus)}
    return frame.assign(status_label=frame["status"].map(lambda s: LOOKS[s].label),
                        rank=frame["status"].map(rank))


STATUS_WORDS = ("red: subscribed, never mailed; turquoise: mailed, still subscribed; "
                "gray: unsubscribed")


def by_department_panel(figs: Figures) -> Panel:
    flt, entity = figs.filter, figs.newsletter_entity
    nouns = NOUNS[entity][1]
    frame = _with_status(figs.by_department).assign(
        value=figs.by_department["department_id"].astype(str))
    return Panel(
        key=f"overview_newsletter_department_{entity}",
        title=f"Newsletter status of {nouns} by department",
        caption=f"{nouns.capitalize()} added in the period, by department and newsletter "
                f"status today ({STATUS_WORDS}). Click a bar for those {nouns}.",
        chart=charts.status_bars(frame, "department", nouns.capitalize())
        if not frame.empty else None,
        sheet=frame, columns=_status_columns("department", "Department", nouns),
        links=((_base(entity, flt), f"Open in the {NOUNS[entity][0]} list"),),
        click=lambda p: _base(entity, flt).narrowed(department=p["value"],
                                                    newsletter=p["status"]),
    )


def by_manager_panel(figs: Figures) -> Panel:
    flt, entity = figs.filter, figs.newsletter_entity
    nouns = NOUNS[entity][1]
    full = figs.by_manager.assign(
        value=[NONE_VALUE if pd.isna(m) else str(int(m)) for m in figs.by_manager["manager_id"]])
    top = list(dict.fromkeys(full["value"]))[:TOP_MANAGERS]
    frame = _with_status(full[full["value"].isin(top)])
    managers = full["value"].nunique()
    more = (f" The {TOP_MANAGERS} managers with the most {nouns} are drawn; the sheet has "
            f"all {managers}." if managers > TOP_MANAGERS else "")
    return Panel(
        key=f"overview_newsletter_manager_{entity}",
        title=f"Newsletter status of {nouns} by assigned manager",
        caption=f"{nouns.capitalize()} added in the period, by assigned sales manager and "
                f"newsletter status today. Click a bar, for instance the red part of a "
                f"manager's bar, for those {nouns}.{more}",
        chart=charts.status_bars(frame, "manager", nouns.capitalize())
        if not frame.empty else None,
        sheet=_with_status(full), columns=_status_columns("manager", OWNER_LABEL, nouns),
        links=((_base(entity, flt), f"Open in the {NOUNS[entity][0]} list"),),
        click=lambda p: _base(entity, flt).narrowed(manager=p["value"],
                                                    newsletter=p["status"]),
    )


def _status_columns(group: str, header: str, nouns: str) -> tuple[ExportColumn, ...]:
    return (ExportColumn(group, header, width=26),
            ExportColumn("status_label", "Newsletter status", width=26),
            ExportColumn("people", nouns.capitalize(), "int", 12))


def unsubscribes_panel(figs: Figures) -> Panel:
    flt, entity = figs.filter, figs.newsletter_entity
    noun, nouns = NOUNS[entity]
    frame = _every_month(figs.unsubscribes, ["source"], ["unsubscribes"])
    if not frame.empty:
        frame = frame.assign(month_key=_month_keys(frame))
    gray = ListLink(entity, {k: v for k, v in flt.list_filters().items() if k != "added"})
    return Panel(
        key=f"overview_unsubscribes_{entity}", title=f"Unsubscribes of {nouns} per month",
        caption=f"Unsubscriptions of {nouns} in the departments chosen, by the month they "
                "happened (within the period) and their source: the unsubscribe link in a "
                "newsletter, an operator, an import. The link opens every "
                f"{noun} unsubscribed today, whenever they left.",
        chart=charts.stacked_monthly_bars(frame, "unsubscribes", "Unsubscribes", "source",
                                          "Source") if not frame.empty else None,
        sheet=frame, columns=(ExportColumn("month", "Month", "date", 12),
                              ExportColumn("source", "Source", width=20),
                              ExportColumn("unsubscribes", "Unsubscribes", "int", 14)),
        links=((gray.narrowed(newsletter=NewsletterStatus.UNSUBSCRIBED.value),
                f"Open the unsubscribed in the {noun} list"),),
    )


def lead_status_panel(figs: Figures) -> Panel:
    flt = figs.filter
    frame = figs.lead_status.assign(
        label=figs.lead_status["status"].map(lambda s: LeadStatus(s).label),
        value=figs.lead_status["status"])
    return Panel(
        key="overview_lead_status", title="Leads by status",
        caption="Leads added in the period: open, disqualified, or converted into a contact "
                "(a converted lead counts as converted even if it was disqualified). Click a "
                "bar for those leads.",
        chart=charts.ranked_bars(frame, "label", "leads", "Leads")
        if frame["leads"].sum() else None,
        sheet=frame, columns=(ExportColumn("label", "Status", width=16),
                              ExportColumn("leads", "Leads", "int", 10)),
        links=((_base(Entity.LEAD, flt), "Open in the lead list"),),
        click=lambda p: _base(Entity.LEAD, flt).narrowed(status=p["value"]),
    )


def lead_source_panel(figs: Figures) -> Panel:
    flt = figs.filter
    frame = figs.lead_source.assign(
        value=[NONE_VALUE if pd.isna(s) else str(int(s)) for s in figs.lead_source["source_id"]])
    return Panel(
        key="overview_lead_source", title="Leads by source",
        caption="Leads added in the period, by where they came from. Click a bar for those "
                "leads.",
        chart=charts.ranked_bars(frame, "source", "leads", "Leads") if not frame.empty else None,
        sheet=frame, columns=(ExportColumn("source", "Lead source", width=20),
                              ExportColumn("leads", "Leads", "int", 10)),
        links=((_base(Entity.LEAD, flt), "Open in the lead list"),),
        click=lambda p: _base(Entity.LEAD, flt).narrowed(source=p["value"]),
    )


def lead_country_panel(figs: Figures) -> Panel:
    flt = figs.filter
    full = figs.lead_country.assign(
        value=[NONE_VALUE if pd.isna(c) else str(c) for c in figs.lead_country["country_code"]])
    more = (f" The {TOP_COUNTRIES} largest are drawn; the sheet has all {len(full)}."
            if len(full) > TOP_COUNTRIES else "")
    frame = full.head(TOP_COUNTRIES)
    return Panel(
        key="overview_lead_country", title="Leads by country",
        caption=f"Leads added in the period, by country. Click a bar for those leads.{more}",
        chart=charts.ranked_bars(frame, "country", "leads", "Leads")
        if not frame.empty else None,
        sheet=full, columns=(ExportColumn("country", "Country", width=24),
                             ExportColumn("country_code", "Code", width=8),
                             ExportColumn("leads", "Leads", "int", 10)),
        links=((_base(Entity.LEAD, flt), "Open in the lead list"),),
        click=lambda p: _base(Entity.LEAD, flt).narrowed(country=p["value"]),
    )


def vip_panel(figs: Figures) -> Panel:
    flt = figs.filter
    frame = figs.vip.assign(of=figs.vip["entity"].map(SERIES),
                            value=figs.vip["department_id"].astype(str))
    return Panel(
        key="overview_vip", title="VIP share by department",
        caption="The share of leads and of contacts added in the period that are VIP, per "
                "department. Click a bar for those VIPs.",
        chart=charts.share_bars(frame, "department", "of") if not frame.empty else None,
        sheet=frame, columns=(ExportColumn("department", "Department", width=22),
                              ExportColumn("of", "Of", width=10),
                              ExportColumn("vip", "VIP", "int", 10),
                              ExportColumn("people", "All", "int", 10),
                              ExportColumn("share", "VIP share", "percent", 10)),
        links=((_base(Entity.CONTACT, flt).narrowed(vip="yes"),
                "Open the VIPs in the contact list"),
               (_base(Entity.LEAD, flt).narrowed(vip="yes"), "Open the VIPs in the lead list")),
        click=lambda p: _base(Entity(p["entity"]), flt).narrowed(department=p["value"],
                                                                 vip="yes"),
    )
