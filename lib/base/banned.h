/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BANNED_H
#define BF_BANNED_H

/*
 * Functions that are too easy to misuse; use struct bf_buf or snprintf.
 * Include this after every system header.
 */
#define BF_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BF_BANNED(strcpy)
#undef strcat
#define strcat(x, y) BF_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BF_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BF_BANNED(strncat)
#undef sprintf
#define sprintf(...) BF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BF_BANNED(vsprintf)
#undef gets
#define gets(x) BF_BANNED(gets)

#endif
