/* tinypcre: shell-style pattern matching for the binfarm sample tree. */
#ifndef TINYPCRE_H
#define TINYPCRE_H

const char	*tinypcre_version(void);
/* 1 if `s` matches `pat` ('*' any run, '?' one character), else 0. */
int		 tinypcre_match(const char *pat, const char *s);
/* 1 when built with USE=jit. */
int		 tinypcre_jit(void);
#endif
