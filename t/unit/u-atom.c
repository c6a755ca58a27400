/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/err.h"
#include "tap.h"

/* a < b for each pair; the test checks both directions. */
static const char *const less[][2] = {
	/* PMS 3.3 examples and the algorithm's branches */
	{ "1.0", "1.0.1" },
	{ "1.0_alpha", "1.0_beta" },
	{ "1.0_beta", "1.0_pre" },
	{ "1.0_pre", "1.0_rc" },
	{ "1.0_rc", "1.0" },
	{ "1.0", "1.0_p1" },
	{ "1.0_alpha", "1.0_p" },
	{ "1.0_rc1", "1.0_rc2" },
	{ "1.0_rc9", "1.0_rc10" },
	{ "1.0_p1", "1.0_p2" },
	{ "1.0_alpha_beta", "1.0_alpha" },
	{ "1.0_alpha", "1.0_alpha_p" },
	{ "1.0_p1_alpha", "1.0_p1" },
	{ "1.0_p1", "1.0_p1_p" },
	{ "1.0_pre1_rc2", "1.0_pre1_rc3" },
	{ "1.0", "1.0-r1" },
	{ "1.0-r1", "1.0-r2" },
	{ "1.0-r9", "1.0-r10" },
	{ "1.0_p1", "1.0_p1-r1" },
	{ "1.0-r99", "1.0.1" },
	{ "1.0", "1.0a" },
	{ "1.0a", "1.0b" },
	{ "1.0z", "1.1" },
	{ "1.0a", "1.0.1" },
	{ "12.2b", "12.2.5" },
	{ "1.01", "1.1" },
	{ "1.001", "1.01" },
	{ "1.09", "1.1" },
	{ "1.0", "1.01" },
	{ "1.1", "1.10" },
	{ "1.2", "1.10" },
	{ "1.9", "1.10" },
	{ "2", "10" },
	{ "9", "10" },
	{ "1.0.9", "1.0.10" },
	{ "1.02", "1.1" },
	{ "0.9", "1" },
	{ "1_alpha", "1" },
	{ "1_p", "1.0" },
	{ "1", "1.0" },
	{ "1.0", "1.0.0" },
	{ "1.2.3_pre4", "1.2.3" },
	{ "99999999999999999999", "100000000000000000000" },
	{ "1.99999999999999999999", "1.100000000000000000000" },
	{ "1_p99999999999999999999", "1_p100000000000000000000" },
	{ "1-r99999999999999999999", "1-r100000000000000000000" },
	{ "2.6.39", "3.0" },
	{ "5.10", "5.10.1_rc1" },
};

static const char *const equal[][2] = {
	{ "1.0", "1.0" },
	{ "1.0", "1.0-r0" },
	{ "1.0-r0", "1.0-r00" },
	{ "1.0", "1.00" },
	{ "1.0", "1.000" },
	{ "1.010", "1.01" },
	{ "01", "1" },
	{ "001.2", "1.2" },
	{ "1_p0", "1_p" },
	{ "1_rc", "1_rc0" },
	{ "1.0_alpha-r0", "1.0_alpha" },
};

static const char *const badver[] = {
	"", "a", "1.", ".1", "1..2", "1.0ab", "1.0A", "1_", "1_foo",
	"1_pre-1", "1-r", "1-rx", "1-r1-r2", "1_beta.1", "-1", "1 ", " 1",
	"1.0-1", "1_p1a", "1.0_RC1", "v1.0",
};

static void
test_vercmp(void)
{
	struct bf_err e = BF_ERR_INIT;
	char what[256];
	size_t i;
	int c, rc;

	for (i = 0; i < sizeof(less) / sizeof(less[0]); i++) {
		c = 99;
		rc = bf_vercmp(less[i][0], less[i][1], &c, NULL);
		snprintf(what, sizeof(what), "%s < %s", less[i][0], less[i][1]);
		ok(rc == 0 && c == -1, what);
		rc = bf_vercmp(less[i][1], less[i][0], &c, NULL);
		snprintf(what, sizeof(what), "%s > %s", less[i][1], less[i][0]);
		ok(rc == 0 && c == 1, what);
	}
	for (i = 0; i < sizeof(equal) / sizeof(equal[0]); i++) {
		c = 99;
		rc = bf_vercmp(equal[i][0], equal[i][1], &c, NULL);
		snprintf(what, sizeof(what), "%s == %s", equal[i][0], equal[i][1]);
		ok(rc == 0 && c == 0, what);
		rc = bf_vercmp(equal[i][1], equal[i][0], &c, NULL);
		ok(rc == 0 && c == 0, "... and the other way round");
	}
	for (i = 0; i < sizeof(badver) / sizeof(badver[0]); i++) {
		c = 99;
		bf_err_clear(&e);
		rc = bf_vercmp(badver[i], "1", &c, &e);
		snprintf(what, sizeof(what), "'%s' is not a version", badver[i]);
		ok(rc == -BF_EFORMAT && c == 99, what);
	}
	bf_err_clear(&e);
	rc = bf_vercmp("1.0", "1.0b2", &c, &e);
	is_int(rc, -BF_EFORMAT, "invalid second version is an error too");
	is_str(e.msg, "invalid version '1.0b2'", "the message names the version");

	/* Sorting a shuffled list with the comparison gives PMS order. */
	{
		static const char *const order[] = {
			"0.1", "1_alpha", "1_alpha1", "1_alpha2_p", "1_beta",
			"1_pre", "1_rc1", "1_rc2", "1", "1-r1", "1_p", "1_p1",
			"1a", "1.0_alpha", "1.0", "1.0.0", "1.01", "1.1",
			"1.2_rc1", "1.2", "1.10", "2",
		};
		size_t n = sizeof(order) / sizeof(order[0]), j;
		struct bf_version va, vb;
		int sorted = 1;

		for (i = 0; i < n; i++)
			for (j = 0; j < n; j++) {
				bf_version_parse(&va, order[i], strlen(order[i]), 1, NULL);
				bf_version_parse(&vb, order[j], strlen(order[j]), 1, NULL);
				c = bf_version_cmp(&va, &vb);
				if (c != (i < j ? -1 : i > j ? 1 : 0)) {
					printf("# %s vs %s: %d\n", order[i], order[j], c);
					sorted = 0;
				}
			}
		ok(sorted, "a list in PMS order is totally ordered by bf_version_cmp");
	}
	{
		struct bf_version va;

		ok(bf_version_parse(&va, "1.0-r1", 6, 0, NULL) == -BF_EFORMAT,
		    "revision refused where not allowed");
		ok(bf_version_parse(&va, "1.2b_rc3_p4-r5", 14, 1, NULL) == 0 &&
		    va.nlen == 3 && va.letter == 'b' && va.slen == 7 &&
		    va.rlen == 1 && va.s[va.roff] == '5',
		    "version fields are located");
	}
}

struct cpv_case {
	const char	*in;
	const char	*cat, *pn, *pv, *pvr, *pr, *pf;
};

static const struct cpv_case cpvs[] = {
	{ "app-misc/foo-1.0", "app-misc", "foo", "1.0", "1.0", "r0", "foo-1.0" },
	{ "app-misc/foo-1.0-r3", "app-misc", "foo", "1.0", "1.0-r3", "r3",
	    "foo-1.0-r3" },
	{ "media-fonts/font-adobe-100dpi-1.0.3", "media-fonts",
	    "font-adobe-100dpi", "1.0.3", "1.0.3", "r0",
	    "font-adobe-100dpi-1.0.3" },
	{ "dev-libs/libfoo2-2.0_rc1-r1", "dev-libs", "libfoo2", "2.0_rc1",
	    "2.0_rc1-r1", "r1", "libfoo2-2.0_rc1-r1" },
	{ "x11-libs/gtk+-3.24.41", "x11-libs", "gtk+", "3.24.41", "3.24.41",
	    "r0", "gtk+-3.24.41" },
	{ "dev-perl/Foo-Bar-0.01", "dev-perl", "Foo-Bar", "0.01", "0.01",
	    "r0", "Foo-Bar-0.01" },
	{ "sys-kernel/linux-firmware-20240115", "sys-kernel",
	    "linux-firmware", "20240115", "20240115", "r0",
	    "linux-firmware-20240115" },
	{ "dev-util/foo-r-1", "dev-util", "foo-r", "1", "1", "r0", "foo-r-1" },
	{ "virtual/perl-File-Spec-3.880.0-r1", "virtual", "perl-File-Spec",
	    "3.880.0", "3.880.0-r1", "r1", "perl-File-Spec-3.880.0-r1" },
	{ "a.b/x_y-1a_p2", "a.b", "x_y", "1a_p2", "1a_p2", "r0", "x_y-1a_p2" },
	{ "app-misc/foo-bar2-1-r0", "app-misc", "foo-bar2", "1", "1-r0", "r0",
	    "foo-bar2-1-r0" },
};

static const char *const badcpv[] = {
	"foo-1.0",			/* no category */
	"app-misc/foo",			/* no version */
	"app-misc/foo-",		/* empty version */
	"app-misc/foo-1-1.0",		/* PN ends in a version (PMS 3.1.2) */
	"app-misc/foo-1.0-1.0",		/* '.' in PN */
	"app-misc/foo-1_rc-2",		/* PN ends in a version */
	"-app/foo-1",			/* category starts with '-' */
	".app/foo-1",			/* category starts with '.' */
	"app/+foo-1",			/* PN starts with '+' */
	"app/-foo-1",			/* PN starts with '-' */
	"app/fo o-1",			/* space */
	"app/foo-1.0xy",		/* not a version */
	"app/foo-1.0-r",		/* empty revision */
	"a/b/foo-1",			/* two slashes */
	"/foo-1",			/* empty category */
	"app-misc/-1",			/* empty PN */
};

static void
test_cpv(void)
{
	struct bf_cpv c = BF_CPV_INIT;
	struct bf_err e = BF_ERR_INIT;
	char what[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cpvs) / sizeof(cpvs[0]); i++) {
		const struct cpv_case *k = &cpvs[i];

		rc = bf_cpv_split(&c, k->in, NULL);
		snprintf(what, sizeof(what), "split %s", k->in);
		ok(rc == 0, what);
		if (rc != 0)
			continue;
		is_str(c.cat, k->cat, "... category");
		is_str(c.pn, k->pn, "... PN");
		is_str(c.pv, k->pv, "... PV");
		is_str(c.pvr, k->pvr, "... PVR");
		is_str(c.pr, k->pr, "... PR");
		is_str(c.pf, k->pf, "... PF");
		ok(c.ver.s == c.pvr && c.ver.len == strlen(c.pvr),
		    "... the parsed version describes PVR");
		bf_cpv_release(&c);
	}
	for (i = 0; i < sizeof(badcpv) / sizeof(badcpv[0]); i++) {
		bf_err_clear(&e);
		rc = bf_cpv_split(&c, badcpv[i], &e);
		snprintf(what, sizeof(what), "'%s' is rejected", badcpv[i]);
		ok(rc == -BF_EFORMAT && c.mem == NULL && e.msg[0] != '\0', what);
	}
	bf_err_clear(&e);
	rc = bf_cpv_split(&c, "app-misc/foo-1-1.0", &e);
	is_str(e.msg, "invalid package name 'foo-1' in 'app-misc/foo-1-1.0'",
	    "error names the bad package name");

	rc = bf_pf_split(&c, "font-adobe-100dpi-1.0.3-r2", NULL);
	ok(rc == 0, "bare PF splits");
	is_str(c.cat, "", "... with an empty category");
	is_str(c.pn, "font-adobe-100dpi", "... PN");
	is_str(c.pvr, "1.0.3-r2", "... PVR");
	bf_cpv_release(&c);
	ok(bf_pf_split(&c, "app-misc/foo-1", NULL) == -BF_EFORMAT,
	    "a PF with a category is rejected");

	ok(bf_pn_valid("font-adobe-100dpi", 17), "100dpi is not a version");
	ok(!bf_pn_valid("foo-1a", 6), "PN ending in -1a is invalid");
	ok(!bf_pn_valid("foo-1-r1", 8), "PN ending in -1-r1 is invalid");
	ok(bf_pn_valid("foo-r1", 6), "PN ending in -r1 is fine");
	ok(bf_useflag_valid("python_targets_python3_12", 25), "USE flag");
	ok(bf_useflag_valid("l10n_pt-BR", 10), "USE flag with hyphen");
	ok(!bf_useflag_valid("-foo", 4), "USE flag cannot start with '-'");
	ok(bf_repo_valid("gentoo", 6) && !bf_repo_valid("foo.bar", 7),
	    "repository names");
}

/* Parse, then format back; NULL `out` means the input is canonical. */
static const char *const atoms_roundtrip[][2] = {
	{ "dev-libs/foo", NULL },
	{ "=dev-libs/foo-1.0", NULL },
	{ ">=dev-libs/foo-1.0-r2", NULL },
	{ ">dev-libs/foo-1", NULL },
	{ "<=dev-libs/foo-2_rc1", NULL },
	{ "<dev-libs/foo-2", NULL },
	{ "~dev-libs/foo-1.0", NULL },
	{ "=dev-libs/foo-1.2*", NULL },
	{ "!dev-libs/foo", NULL },
	{ "!!<dev-libs/foo-1", NULL },
	{ "dev-libs/foo:2", NULL },
	{ "dev-libs/foo:2/2.1", NULL },
	{ "dev-libs/foo:=", NULL },
	{ "dev-libs/foo:*", NULL },
	{ "dev-libs/foo:2=", NULL },
	{ "dev-libs/foo:2/3=", NULL },
	{ "dev-libs/foo::gentoo", NULL },
	{ ">=dev-libs/foo-1:2=::company[ssl]", NULL },
	{ "dev-libs/foo[foo,-bar,baz?,!baz?,baz=,!baz=,foo(+),bar(-)]", NULL },
	{ "dev-libs/foo[a(+)?,!b(-)=,-c(+)]", NULL },
	{ "=media-fonts/font-adobe-100dpi-1.0.3-r1:0", NULL },
	{ "=dev-libs/foo-1*:2", NULL },
};

static const char *const badatoms[] = {
	"",
	"foo",				/* no category */
	"dev-libs/foo-1.0",		/* version, no operator */
	"=dev-libs/foo",		/* operator, no version */
	">=dev-libs/foo",
	"~dev-libs/foo-1.0*",		/* '*' with ~ */
	">=dev-libs/foo-1.0*",
	"dev-libs/foo*",
	"=dev-libs/foo-1.0xy",
	"dev-libs/foo:",		/* empty slot */
	"dev-libs/foo:-1",		/* slot starts with '-' */
	"dev-libs/foo:1/",		/* empty sub-slot */
	"dev-libs/foo:1/2/3",
	"dev-libs/foo::",		/* empty repository */
	"dev-libs/foo::a.b",
	"dev-libs/foo[]",
	"dev-libs/foo[a,]",
	"dev-libs/foo[,a]",
	"dev-libs/foo[-a?]",
	"dev-libs/foo[!a]",
	"dev-libs/foo[a(x)]",
	"dev-libs/foo[a",
	"dev-libs/foo]",
	"dev-libs/foo[a][b]",
	"dev-libs/foo[a b]",
	"!!!dev-libs/foo",
	"=<dev-libs/foo-1",
	"dev-libs/foo-1-1.0",
	"=dev-libs/foo-1-1.0",
	"dev-libs/f oo",
	"dev-libs/",
	"/foo",
};

static int
match(const char *atom, const char *cpv, const char *slot, const char *sub,
    const char *repo)
{
	struct bf_atom a = BF_ATOM_INIT;
	struct bf_cpv c = BF_CPV_INIT;
	int r;

	if (bf_atom_parse(&a, atom, NULL) < 0)
		return -1;
	if (bf_cpv_split(&c, cpv, NULL) < 0) {
		bf_atom_release(&a);
		return -1;
	}
	r = bf_atom_match(&a, &c, slot, sub, repo);
	bf_atom_release(&a);
	bf_cpv_release(&c);
	return r;
}

static void
test_atoms(void)
{
	struct bf_atom a = BF_ATOM_INIT;
	struct bf_buf b = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	char what[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(atoms_roundtrip) / sizeof(atoms_roundtrip[0]); i++) {
		const char *in = atoms_roundtrip[i][0];
		const char *want = atoms_roundtrip[i][1] ?
		    atoms_roundtrip[i][1] : in;

		rc = bf_atom_parse(&a, in, NULL);
		snprintf(what, sizeof(what), "parse %s", in);
		ok(rc == 0, what);
		bf_buf_reset(&b);
		bf_atom_format(&a, &b);
		is_str(b.buf, want, "... formats back the same");
		bf_atom_release(&a);
	}
	for (i = 0; i < sizeof(badatoms) / sizeof(badatoms[0]); i++) {
		bf_err_clear(&e);
		rc = bf_atom_parse(&a, badatoms[i], &e);
		snprintf(what, sizeof(what), "'%s' is not an atom", badatoms[i]);
		ok(rc == -BF_EFORMAT && a.mem == NULL && a.use == NULL &&
		    strncmp(e.msg, "invalid atom", 12) == 0, what);
	}
	bf_err_clear(&e);
	bf_atom_parse(&a, "dev-libs/foo-1.0", &e);
	is_str(e.msg, "invalid atom 'dev-libs/foo-1.0': a version needs an operator",
	    "missing operator is explained");

	rc = bf_atom_parse(&a, "!!>=dev-libs/foo-1.0_rc2-r1:2/2.1=::gentoo[a,-b,c?,!d?,e=,!f=,g(+),h(-)]", NULL);
	ok(rc == 0, "full atom parses");
	is_int(a.blocker, 2, "... strong blocker");
	is_int(a.op, BF_OP_GE, "... >=");
	is_str(a.cat, "dev-libs", "... category");
	is_str(a.pn, "foo", "... PN");
	is_str(a.pvr, "1.0_rc2-r1", "... version");
	is_str(a.slot, "2", "... slot");
	is_str(a.subslot, "2.1", "... sub-slot");
	is_int(a.slotop, BF_SLOTOP_EQ, "... slot operator");
	is_str(a.repo, "gentoo", "... repository");
	is_int(a.nuse, 8, "... eight USE deps");
	if (a.nuse == 8) {
		is_str(a.use[0].flag, "a", "... a");
		is_int(a.use[0].kind, BF_USE_ENABLED, "... a enabled");
		is_int(a.use[1].kind, BF_USE_DISABLED, "... -b");
		is_int(a.use[2].kind, BF_USE_COND, "... c?");
		is_int(a.use[3].kind, BF_USE_NCOND, "... !d?");
		is_int(a.use[4].kind, BF_USE_EQ, "... e=");
		is_int(a.use[5].kind, BF_USE_NEQ, "... !f=");
		ok(a.use[6].dflt == '+' && strcmp(a.use[6].flag, "g") == 0,
		    "... g(+)");
		ok(a.use[7].dflt == '-' && strcmp(a.use[7].flag, "h") == 0,
		    "... h(-)");
	}
	bf_atom_release(&a);
	rc = bf_atom_parse(&a, "!dev-libs/foo", NULL);
	ok(rc == 0 && a.blocker == 1 && a.op == BF_OP_NONE && a.pvr == NULL &&
	    a.slot == NULL, "weak blocker without version");
	bf_atom_release(&a);
	rc = bf_atom_parsen(&a, "dev-libs/foo:1 trailing", 14, NULL);
	ok(rc == 0 && strcmp(a.slot, "1") == 0, "parsen stops at the length");
	bf_atom_release(&a);

	/* Matching. */
	is_int(match("dev-libs/foo", "dev-libs/foo-1", NULL, NULL, NULL), 1, "no operator matches any version");
	is_int(match("dev-libs/foo", "dev-libs/bar-1", NULL, NULL, NULL), 0, "other PN");
	is_int(match("dev-libs/foo", "app-misc/foo-1", NULL, NULL, NULL), 0, "other category");
	is_int(match("=dev-libs/foo-1.0", "dev-libs/foo-1.0-r0", NULL, NULL, NULL), 1, "= matches -r0");
	is_int(match("=dev-libs/foo-1.0", "dev-libs/foo-1.00", NULL, NULL, NULL), 1, "= matches an equal version");
	is_int(match("=dev-libs/foo-1.0", "dev-libs/foo-1.0-r1", NULL, NULL, NULL), 0, "= does not match -r1");
	is_int(match("~dev-libs/foo-1.0", "dev-libs/foo-1.0-r5", NULL, NULL, NULL), 1, "~ matches any revision");
	is_int(match("~dev-libs/foo-1.0-r2", "dev-libs/foo-1.0", NULL, NULL, NULL), 1, "~ ignores the atom's revision (Portage)");
	is_int(match("~dev-libs/foo-1.0", "dev-libs/foo-1.0.1", NULL, NULL, NULL), 0, "~ does not match another version");
	is_int(match(">=dev-libs/foo-1.0", "dev-libs/foo-1.0", NULL, NULL, NULL), 1, ">= equal");
	is_int(match(">=dev-libs/foo-1.0", "dev-libs/foo-1.0_rc1", NULL, NULL, NULL), 0, ">= rc is older");
	is_int(match(">dev-libs/foo-1.0", "dev-libs/foo-1.0-r1", NULL, NULL, NULL), 1, "> revision is newer");
	is_int(match(">dev-libs/foo-1.0", "dev-libs/foo-1.0", NULL, NULL, NULL), 0, "> not equal");
	is_int(match("<dev-libs/foo-1.0", "dev-libs/foo-1.0_p1", NULL, NULL, NULL), 0, "< _p is newer");
	is_int(match("<dev-libs/foo-1.0", "dev-libs/foo-1.0_alpha", NULL, NULL, NULL), 1, "< _alpha is older");
	is_int(match("<=dev-libs/foo-1.0", "dev-libs/foo-1.0-r0", NULL, NULL, NULL), 1, "<= equal");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-1", NULL, NULL, NULL), 1, "=1* matches 1");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-1.2.3", NULL, NULL, NULL), 1, "=1* matches 1.2.3");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-1a", NULL, NULL, NULL), 1, "=1* matches 1a");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-1_rc1", NULL, NULL, NULL), 1, "=1* matches 1_rc1");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-1-r3", NULL, NULL, NULL), 1, "=1* matches 1-r3");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-10", NULL, NULL, NULL), 0, "=1* does not match 10 (bug 560466)");
	is_int(match("=dev-libs/foo-1*", "dev-libs/foo-2", NULL, NULL, NULL), 0, "=1* does not match 2");
	is_int(match("=dev-libs/foo-1.2*", "dev-libs/foo-1.20", NULL, NULL, NULL), 0, "=1.2* does not match 1.20");
	is_int(match("=dev-libs/foo-1.2*", "dev-libs/foo-1.2.9", NULL, NULL, NULL), 1, "=1.2* matches 1.2.9");
	is_int(match("=dev-libs/foo-01.2*", "dev-libs/foo-1.2", NULL, NULL, NULL), 1, "=* ignores leading zeros of the first component");
	is_int(match("=dev-libs/foo-1.0_rc*", "dev-libs/foo-1.0_rc2", NULL, NULL, NULL), 1, "=1.0_rc* matches 1.0_rc2");
	is_int(match("dev-libs/foo:2", "dev-libs/foo-1", "2", NULL, NULL), 1, "slot matches");
	is_int(match("dev-libs/foo:2", "dev-libs/foo-1", "3", NULL, NULL), 0, "other slot");
	is_int(match("dev-libs/foo:2", "dev-libs/foo-1", NULL, NULL, NULL), 0, "unknown slot does not match a slot dep");
	is_int(match("dev-libs/foo:2/2.1", "dev-libs/foo-1", "2", "2.1", NULL), 1, "sub-slot matches");
	is_int(match("dev-libs/foo:2/2.1", "dev-libs/foo-1", "2", "2.2", NULL), 0, "other sub-slot");
	is_int(match("dev-libs/foo:=", "dev-libs/foo-1", "7", "7", NULL), 1, ":= has no slot restriction");
	is_int(match("dev-libs/foo:*", "dev-libs/foo-1", "7", NULL, NULL), 1, ":* has no slot restriction");
	is_int(match("dev-libs/foo::gentoo", "dev-libs/foo-1", NULL, NULL, "gentoo"), 1, "repository matches");
	is_int(match("dev-libs/foo::gentoo", "dev-libs/foo-1", NULL, NULL, "company"), 0, "other repository");
	is_int(match("!dev-libs/foo", "dev-libs/foo-1", NULL, NULL, NULL), 1, "a blocker matches what it blocks");

	/* USE dependencies. */
	{
		struct bf_usedep u = { "x", BF_USE_ENABLED, 0 };

		ok(bf_usedep_satisfied(&u, 0, 1, 1) && !bf_usedep_satisfied(&u, 0, 1, 0), "[x]");
		ok(!bf_usedep_satisfied(&u, 0, 0, 0), "[x] fails when x is not in IUSE");
		u.dflt = '+';
		ok(bf_usedep_satisfied(&u, 0, 0, 0), "[x(+)] holds when x is not in IUSE");
		u.dflt = '-';
		ok(!bf_usedep_satisfied(&u, 0, 0, 0), "[x(-)] fails when x is not in IUSE");
		u.dflt = 0;
		u.kind = BF_USE_DISABLED;
		ok(bf_usedep_satisfied(&u, 1, 1, 0) && !bf_usedep_satisfied(&u, 1, 1, 1), "[-x]");
		u.kind = BF_USE_COND;
		ok(bf_usedep_satisfied(&u, 0, 1, 0) && bf_usedep_satisfied(&u, 1, 1, 1) &&
		    !bf_usedep_satisfied(&u, 1, 1, 0), "[x?]");
		u.kind = BF_USE_NCOND;
		ok(bf_usedep_satisfied(&u, 1, 1, 1) && bf_usedep_satisfied(&u, 0, 1, 0) &&
		    !bf_usedep_satisfied(&u, 0, 1, 1), "[!x?]");
		u.kind = BF_USE_EQ;
		ok(bf_usedep_satisfied(&u, 1, 1, 1) && bf_usedep_satisfied(&u, 0, 1, 0) &&
		    !bf_usedep_satisfied(&u, 1, 1, 0) && !bf_usedep_satisfied(&u, 0, 1, 1), "[x=]");
		u.kind = BF_USE_NEQ;
		ok(bf_usedep_satisfied(&u, 1, 1, 0) && bf_usedep_satisfied(&u, 0, 1, 1) &&
		    !bf_usedep_satisfied(&u, 1, 1, 1) && !bf_usedep_satisfied(&u, 0, 1, 0), "[!x=]");
	}
	bf_buf_release(&b);
}

int
main(void)
{
	test_vercmp();
	test_cpv();
	test_atoms();
	return tap_done();
}
