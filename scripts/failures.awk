# Prints what a failed `go test -v` run said about each failing test: the
# lines its test code logged or reported (file.go:N: ...), without the long
# continuation lines under them (such as a process's output tail), so the
# reason shows first however long the log. Lines are attributed to the
# top-level test that -v names before them (=== RUN / CONT / NAME).
/^=== (RUN|CONT|NAME|PAUSE)[ \t]/ {
  name = $3; sub(/\/.*/, "", name); next
}
/^ +[A-Za-z0-9_.-]+\.go:[0-9]+: / {
  if (name != "" && n[name] < 60) { said[name, n[name]++] = $0 }
  next
}
/^ *--- FAIL: / {
  t = $3; if (t ~ /\//) next
  print "--- FAIL: " t " said:"
  for (i = 0; i < n[t]; i++) print said[t, i]
  if (n[t] == 60) print "    (first 60 lines)"
}
/^panic: / { print; panicked = 1; next }
panicked && shown < 30 { print; shown++ }
