# End-to-end tests of the smelt CLI (filled in as commands land).
