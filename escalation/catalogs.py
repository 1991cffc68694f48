"""Building the translation catalogs (.mo) from the committed .po files, failing on errors."""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def compile_catalogs(directory) -> list[str]:
    compiled = []
    for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        errors = list(catalog.check())
        if errors:
            raise RuntimeError(f"{po_path}: {errors[:3]}")
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        compiled.append(po_path.parent.parent.name)
    return compiled


# ---------------------------------------------------------------------------------------------
# Maintaining the catalogs: ``python -m escalation.catalogs extract`` refreshes messages.pot and
# merges it into sv; ``python -m escalation.catalogs fill FILE.json`` adds Swedish translations
# ({"msgid": "msgstr", "singular": ["sv singular", "sv plural"]}). Both take a file lock, so
# several people (or agents) working at once never overwrite each other's entries.

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
SV_PO = TRANSLATIONS / "sv" / "LC_MESSAGES" / "messages.po"


def _locked():
    import contextlib
    import fcntl

    @contextlib.contextmanager
    def lock():
        TRANSLATIONS.mkdir(exist_ok=True)
        with open(TRANSLATIONS / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    return lock()


def extract_catalog():
    """Extract every marked string (the same trimmed setting as at render time)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.catalog import Catalog
    from babel.messages.frontend import parse_mapping_cfg

    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
                "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
    catalog = Catalog(project="Eskalera", version="0.1", msgid_bugs_address=None,
                      copyright_holder="Eskalera developers", charset="utf-8")
    skipped = {".venv", "tests", "bench", "build", "node_modules", "instance", "translations", "static"}

    def directory_filter(dirpath):
        # Babel skips folders starting with "_" by default; our partials live in such folders.
        name = Path(dirpath).name
        return not name.startswith(".") and name not in skipped and name != "__pycache__"

    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True,
            directory_filter=directory_filter):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _write(path, catalog, **kwargs):
    from babel.messages.pofile import write_po
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True, **kwargs)


def update():
    """messages.pot from the code; sv merged with it (obsolete entries dropped, no fuzzy guesses)."""
    from babel.messages.catalog import Catalog
    template = extract_catalog()
    with _locked():
        _write(POT, template, ignore_obsolete=True, include_lineno=False)
        if SV_PO.exists():
            with SV_PO.open("rb") as handle:
                sv = read_po(handle, locale="sv")
        else:
            sv = Catalog(locale="sv", project="Eskalera")
        sv.update(template, no_fuzzy_matching=True, update_header_comment=False)
        _write(SV_PO, sv, ignore_obsolete=True, include_lineno=False)
    return missing()


def fill(mapping: dict):
    """Set Swedish translations for these msgids (plural entries take a list)."""
    with _locked():
        with SV_PO.open("rb") as handle:
            sv = read_po(handle, locale="sv")
        unknown = []
        for msgid, msgstr in mapping.items():
            key = msgid
            message = sv.get(key)
            if message is None:
                # plural entries are keyed by their singular
                unknown.append(msgid)
                continue
            message.string = tuple(msgstr) if isinstance(message.id, tuple) else msgstr
            message.flags.discard("fuzzy")
        _write(SV_PO, sv, ignore_obsolete=True, include_lineno=False)
    return unknown


def missing():
    """Swedish entries that are empty or fuzzy."""
    with SV_PO.open("rb") as handle:
        sv = read_po(handle, locale="sv")
    out = []
    for message in sv:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(message.id)
    return out


if __name__ == "__main__":
    import json
    import sys

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "extract":
        todo = update()
        print(f"messages.pot and sv updated; {len(todo)} Swedish entries missing.")
        for msgid in todo:
            print(" ", json.dumps(msgid, ensure_ascii=False))
    elif command == "fill":
        with open(sys.argv[2], encoding="utf-8") as handle:
            not_found = fill(json.load(handle))
        for msgid in not_found:
            print("not in the catalog (extract first?):", msgid)
        print(f"{len(missing())} Swedish entries still missing.")
    elif command == "missing":
        for msgid in missing():
            print(json.dumps(msgid, ensure_ascii=False))
    elif command == "compile":
        print("Compiled:", ", ".join(compile_catalogs(TRANSLATIONS)))
    else:
        print("usage: python -m escalation.catalogs extract|fill FILE.json|missing|compile")
        sys.exit(2)
