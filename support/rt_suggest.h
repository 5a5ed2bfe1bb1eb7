/* "Did you mean ...?" suggestions for unknown names (keys, presets, commands, flags), by
 * Levenshtein distance. */
#ifndef SMELT_RT_SUGGEST_H
#define SMELT_RT_SUGGEST_H

/* Edit distance between two strings (insertions, deletions, substitutions; case-sensitive). */
int rt_edit_distance(const char *a, const char *b);

/* The candidate closest to word, or NULL when none is close enough to be a plausible typo
 * (distance at most max(1, strlen(word) / 3), or one candidate is a prefix of the other). */
const char *rt_suggest(const char *word, const char *const *candidates, int n);

#endif
