#!/usr/bin/env bash
# Builds the book (docs/) into docs/book/ with mdBook, installing mdBook 0.4 from crates.io
# where it is missing. Any warning or error mdBook prints fails the build (mdBook itself exits 0
# on some of them, such as a missing include).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mdbook >/dev/null 2>&1 || ! mdbook --version | grep -q "^mdbook v0\.4\."; then
    cargo install mdbook --version '^0.4' --locked
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
mdbook build docs 2>&1 | tee "$log"
if grep -E "\[(WARN|ERROR)\]|WARN |ERROR " "$log" >/dev/null; then
    echo "build_book.sh: mdBook printed warnings or errors (above)" >&2
    exit 1
fi
echo "the book: docs/book/index.html"
