"""Text on screen is escaped by default: this test reads the source of the UI (crm/ui, pages,
app.py) and fails on any message, title, caption, markdown, widget label, tooltip or tab
label that is not a string literal or built by crm.ui.text (md / plain, or text.title &
co. with a literal template). Raw HTML is allowed only where listed below, each reviewed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "crm" / "ui").rglob("*.py")),
           *sorted((ROOT / "pages").rglob("*.py"))]

# Streamlit elements whose text (first argument) is drawn as Markdown.
MESSAGES = {"markdown", "title", "header", "subheader", "caption", "error", "warning", "info",
            "success", "toast", "write"}
# Headings: Streamlit links each to an anchor named after its words.
HEADINGS = {"title", "header", "subheader"}
# Widgets whose label (first argument or label=) is drawn as Markdown.
WIDGETS = {"button", "download_button", "link_button", "page_link", "checkbox", "toggle",
           "radio", "selectbox", "multiselect", "select_slider", "slider", "text_input",
           "text_area", "number_input", "date_input", "time_input", "file_uploader",
           "form_submit_button", "expander", "popover", "metric", "segmented_control",
           "pills", "color_picker",
           "form_submit"}  # crm.ui.permitted's gated form button, label first like st's
# Wrappers that pass on a label their callers built: each call of them is checked here as a
# widget's (crm.ui.permitted.button shares st.button's name), so the forwarding is not.
FORWARDERS = {("crm/ui/permitted.py", "button"), ("crm/ui/permitted.py", "form_submit")}
MARKDOWN_KEYWORDS = {"label", "help", "captions", "body"}
SAFE_BUILDERS = {"md", "plain"}
# Calls that draw raw HTML, each reviewed: every value in them is escaped with html.escape
# or comes from our own constants.
RAW_HTML = {
    ("crm/ui/newsletter.py", "badge_html"): "status labels and colours are our constants",
    ("crm/ui/grid.py", "grid"): "a constant style sheet",
    ("pages/public/request.py", "hide_honeypot"): "a constant style sheet",
    ("crm/ui/session.py", "_write_cookie"): (
        "a constant script setting the session cookie to a JWT we signed, as a JSON string"),
    ("crm/ui/mailing_compose.py", "message_html"): (
        "a mailing's body as crm.mailing.compose renders it (raw HTML disabled, every value "
        "escaped, unsafe link targets refused) and a constant footer"),
}


def _safe(node: ast.AST | None) -> bool:
    if node is None:
        return True
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, str | int | float)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in SAFE_BUILDERS
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_safe(e) for e in node.elts)
    return False


def _called(node: ast.Call) -> tuple[str, str]:
    """(receiver, name) of a call like `st.sidebar.markdown(...)` or `text.title(...)`."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return "", getattr(func, "id", "")
    receiver = func.value
    return (receiver.id if isinstance(receiver, ast.Name) else ""), func.attr


def findings(path: Path) -> list[str]:
    """Every unescaped text on screen in one file, as `file:line: what`."""
    relative = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), filename=relative)
    found = []
    functions = {}
    for parent in ast.walk(tree):
        if isinstance(parent, ast.FunctionDef):
            for child in ast.walk(parent):
                functions.setdefault(id(child), parent.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        receiver, name = _called(node)
        where = f"{relative}:{node.lineno}"
        if receiver == "text" and name in MESSAGES:  # crm.ui.text: the template is ours
            if not (node.args and isinstance(node.args[0], ast.Constant)):
                found.append(f"{where}: text.{name} needs a literal template")
            continue
        if (name in HEADINGS and receiver != "text" and node.args
                and not isinstance(node.args[0], ast.Constant)):
            found.append(f"{where}: a heading with values goes through text.{name} (no "
                         "anchor made of what somebody typed)")
        forwarded = (relative, functions.get(id(node), "")) in FORWARDERS
        if (name in MESSAGES | WIDGETS and node.args and not _safe(node.args[0])
                and not forwarded):
            found.append(f"{where}: {name}() text is not escaped")
        if name == "tabs" and node.args and not _safe(node.args[0]):
            found.append(f"{where}: tab labels are not escaped")
        if name in MESSAGES | WIDGETS | {"tabs"} and not forwarded:
            for keyword in node.keywords:
                if keyword.arg in MARKDOWN_KEYWORDS and not _safe(keyword.value):
                    found.append(f"{where}: {name}({keyword.arg}=…) is not escaped")
        raw = any(k.arg == "unsafe_allow_html" and not (
            isinstance(k.value, ast.Constant) and k.value.value is False)
            for k in node.keywords) or (receiver == "st" and name == "html")
        if raw and (relative, functions.get(id(node), "")) not in RAW_HTML:
            found.append(f"{where}: raw HTML outside the reviewed places")
    return found


def test_every_text_on_screen_is_escaped_by_default():
    assert [f for path in SOURCES for f in findings(path)] == []


def test_the_check_catches_unescaped_text(tmp_path, monkeypatch):
    rogue = tmp_path / "rogue.py"
    rogue.write_text(
        "import streamlit as st\n"
        "from crm.ui import text\n"
        "def page(name, n):\n"
        "    st.title(f'Lead {name}')\n"                       # 4: f-string
        "    st.error(name)\n"                                 # 5: a variable
        "    st.button(name, help=f'Open {name}')\n"           # 6: label and help
        "    text.title(name)\n"                               # 7: a template not ours
        "    st.markdown(name, unsafe_allow_html=True)\n"      # 8: raw HTML
        "    st.title(text.md('Lead {}', name))\n"             # 9: escaped, with an anchor
        "    text.error('{} failed', name)\n"                  # fine
        "    st.caption('A literal' if n else text.plain(name))\n")  # fine
    monkeypatch.setattr("tests.ui.test_text_on_screen.ROOT", tmp_path)
    heading = "a heading with values goes through text.title (no anchor made of what " \
              "somebody typed)"
    assert findings(rogue) == [
        f"rogue.py:4: {heading}",
        "rogue.py:4: title() text is not escaped",
        "rogue.py:5: error() text is not escaped",
        "rogue.py:6: button() text is not escaped",
        "rogue.py:6: button(help=…) is not escaped",
        "rogue.py:7: text.title needs a literal template",
        "rogue.py:8: markdown() text is not escaped",
        "rogue.py:8: raw HTML outside the reviewed places",
        f"rogue.py:9: {heading}",
    ]


def test_escaped_text_shows_every_character_as_typed():
    from crm.ui.text import md, plain

    hostile = "[Session expired](https://evil.example/login) ![t](https://evil.example/p.png)"
    # An address stays text: a word joiner (U+2060) keeps Markdown from making it a link.
    assert plain(hostile) == ("\\[Session expired\\]\\(https\u2060\\://evil\\.example/login\\) "
                              "\\!\\[t\\]\\(https\u2060\\://evil\\.example/p\\.png\\)")
    assert plain("www.evil.example eve@evil.example") == (
        "www\u2060\\.evil\\.example eve\u2060\\@evil\\.example")
    assert md("**{n:,} leads** named {name}", n=1234, name="<b>x</b>") == (
        "**1,234 leads** named \\<b\\>x\\</b\\>")
    assert plain("line one\nline two") == "line one line two"
