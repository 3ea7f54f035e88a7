#!/bin/sh
# Builds the two PDF ads from their HTML sources with WeasyPrint, using only
# the project's fonts (a fonts.conf that lists /work/main/fonts and nothing else).
set -e
here=$(cd "$(dirname "$0")" && pwd)
conf=/tmp/gp-fonts/fonts.conf
mkdir -p /tmp/gp-fonts/cache
cat > "$conf" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>/work/main/fonts</dir>
  <cachedir>/tmp/gp-fonts/cache</cachedir>
</fontconfig>
XML
for name in sarnia-hardware town-church-concerts; do
  FONTCONFIG_FILE="$conf" /work/main/.venv/bin/python -c "
import sys, weasyprint
weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])
" "$here/$name.html" "$here/../$name.pdf"
  echo "wrote ads/$name.pdf"
done
