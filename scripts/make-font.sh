#!/usr/bin/env bash
# Rebuilds Fonts/BIZUDMincho-Regular.ttf, Kofu's cut of BIZ UDMincho (SIL OFL 1.1, no Reserved Font Name),
# from the Debian package fonts-morisawa-bizud-mincho with fontTools from PyPI. Same glyphs, outlines, metrics
# and character coverage as the original; two changes that make cairo's PDF output cheaper (docs/perf/rendering.md):
#   - no TrueType hinting (glyph instructions, fpgm, prep, cvt): print and PDF viewers do not need it, and it
#     was copied and deflated into every certificate's font subset;
#   - no format 4 (BMP) cmap, only format 12 (and the format 14 variation sequences): cairo 1.16 scanned the
#     format 4 subtable (about 5,000 segments) once per glyph of every document to find the glyph's character.
# Usage: scripts/make-font.sh [output.ttf]   (needs python3 with venv; installs the Debian package if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-Fonts/BIZUDMincho-Regular.ttf}"
src=/usr/share/fonts/truetype/bizud-mincho/BIZUDMincho-Regular.ttf
if [ ! -f "$src" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends fonts-morisawa-bizud-mincho >/dev/null
fi
venv="${TMPDIR:-/tmp}/kofu-fonttools"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import fontTools' 2>/dev/null || "$venv/bin/pip" install -q 'fonttools==4.68.0'
"$venv/bin/python" - "$src" "$out" <<'PY'
import sys
from fontTools.ttLib import TTFont
from fontTools import subset

src, out = sys.argv[1], sys.argv[2]
font = TTFont(src, recalcTimestamp=False)   # keep head.modified: the cut is reproducible byte for byte
options = subset.Options()
options.hinting = False            # drop glyph instructions, fpgm, prep, cvt
options.glyph_names = True
options.name_IDs = ["*"]
options.name_languages = ["*"]
options.name_legacy = True
options.layout_features = ["*"]
options.notdef_outline = True
options.recalc_bounds = False
options.recalc_timestamp = False
options.prune_unicode_ranges = False
options.drop_tables = ["DSIG"]     # a signature would no longer match
sub = subset.Subsetter(options)
sub.populate(glyphs=font.getGlyphOrder(), unicodes=font.getBestCmap().keys())
sub.subset(font)

# Keep the UCS-4 subtable and the variation sequences (the subsetter drops format 14; the glyph order is
# unchanged, so the original subtable still fits); drop the format 4 (BMP) subtables.
cmap = font["cmap"]
original = TTFont(src)["cmap"]
cmap.tables = [t for t in cmap.tables if t.format not in (4, 14)] + [t for t in original.tables if t.format == 14]
assert any(t.format == 12 and (t.platformID, t.platEncID) == (3, 10) for t in cmap.tables)

# Mark the cut as a modified version (OFL 1.1 §2); the font has no Reserved Font Name.
name = font["name"]
for rec in list(name.names):
    if rec.nameID == 3:
        name.setName(rec.toUnicode() + ";Kofu-cut", 3, rec.platformID, rec.platEncID, rec.langID)
    if rec.nameID == 5:
        name.setName(rec.toUnicode() + "; Kofu cut (unhinted, format 12 cmap only)", 5,
                     rec.platformID, rec.platEncID, rec.langID)
font.save(out, reorderTables=True)
PY
echo "wrote $out ($(stat -c %s "$out") bytes)"
