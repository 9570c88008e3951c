/*
 * test/unit_auth.c - access control: the basic-auth hashes (bcrypt with
 * its own Blowfish, MD5-crypt, {SHA}) against published vectors and hashes
 * made by Debian's htpasswd, malformed hashes on guard pages, base64; the
 * htpasswd Secret loader; whitelists (CIDR parsing and matching).
 * Includes ingressd.c (main compiled out); links the BearSSL port's hashes.
 */
#define ING_NO_MAIN
#include "../ingressd.c"

#include "../port/mock.h"
#include "unit.h"

/* Two guarded regions: the hash and the password each end where a
 * PROT_NONE page begins. */
static unsigned char *guard_h, *guard_p;
static size_t pagesz;

static unsigned char *
guard_new(void)
{
	unsigned char *m = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	                        -1, 0);
	if (m == MAP_FAILED || mprotect(m + pagesz, pagesz, PROT_NONE) != 0) {
		perror("mmap");
		exit(2);
	}
	return m;
}

static const char *
flush(unsigned char *gp, const void *src, size_t n)
{
	if (n > pagesz)
		abort();
	if (n > 0)
		memcpy(gp + pagesz - n, src, n);
	return (const char *)(gp + pagesz - n);
}

typedef int (*checkfn)(const char *, size_t, const char *, size_t);

static int
gcall(checkfn f, const void *pass, size_t plen, const void *hash, size_t hlen)
{
	return f(flush(guard_p, pass, plen), plen, flush(guard_h, hash, hlen), hlen);
}

static int
gcheck(const void *pass, size_t plen, const char *hash)
{
	return gcall(au_check, pass, plen, hash, strlen(hash));
}

#define S(lit) lit, sizeof(lit) - 1 /* password literal with its exact length */

/* ---- Blowfish: Eric Young's ECB vectors (schneier.com/code/vectors.txt),
 * confirmed against OpenSSL's BF_ecb_encrypt. */
static const char *const bf_ecb[][3] = {
    {"0000000000000000", "0000000000000000", "4EF997456198DD78"},
    {"FFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFF", "51866FD5B85ECB8A"},
    {"3000000000000000", "1000000000000001", "7D856F9A613063F2"},
    {"1111111111111111", "1111111111111111", "2466DD878B963C9D"},
    {"0123456789ABCDEF", "1111111111111111", "61F9C3802281B096"},
    {"1111111111111111", "0123456789ABCDEF", "7D0CC630AFDA1EC7"},
    {"FEDCBA9876543210", "0123456789ABCDEF", "0ACEAB0FC6A0A28D"},
    {"7CA110454A1A6E57", "01A1D6D039776742", "59C68245EB05282B"},
    {"0131D9619DC1376E", "5CD54CA83DEF57DA", "B1B8CC0B250F09A0"},
    {"07A1133E4A0B2686", "0248D43806F67172", "1730E5778BEA1DA4"},
    {"3849674C2602319E", "51454B582DDF440A", "A25E7856CF2651EB"},
    {"04B915BA43FEB5B6", "42FD443059577FA2", "353882B109CE8F1A"},
    {"0113B970FD34F2CE", "059B5E0851CF143A", "48F4D0884C379918"},
    {"0170F175468FB5E6", "0756D8E0774761D2", "432193B78951FC98"},
    {"43297FAD38E373FE", "762514B829BF486A", "13F04154D69D1AE5"},
    {"07A7137045DA2A16", "3BDD119049372802", "2EEDDA93FFD39C79"},
    {"04689104C2FD3B2F", "26955F6835AF609A", "D887E0393C2DA6E3"},
    {"37D06BB516CB7546", "164D5E404F275232", "5F99D04F5B163969"},
    {"1F08260D1AC2465E", "6B056E18759F5CCA", "4A057A3B24D3977B"},
    {"584023641ABA6176", "004BD6EF09176062", "452031C1E4FADA8E"},
    {"025816164629B007", "480D39006EE762F2", "7555AE39F59B87BD"},
    {"49793EBC79B3258F", "437540C8698F3CFA", "53C55F9CB49FC019"},
    {"4FB05E1515AB73A7", "072D43A077075292", "7A8E7BFA937E89A3"},
    {"49E95D6D4CA229BF", "02FE55778117F12A", "CF9C5D7A4986ADB5"},
    {"018310DC409B26D6", "1D9D5C5018F728C2", "D1ABB290658BC778"},
    {"1C587F1C13924FEF", "305532286D6F295A", "55CB3774D13EF201"},
    {"0101010101010101", "0123456789ABCDEF", "FA34EC4847B268B2"},
    {"1F1F1F1F0E0E0E0E", "0123456789ABCDEF", "A790795108EA3CAE"},
    {"E0FEE0FEF1FEF1FE", "0123456789ABCDEF", "C39E072D9FAC631D"},
    {"0000000000000000", "FFFFFFFFFFFFFFFF", "014933E0CDAFF6E4"},
    {"FFFFFFFFFFFFFFFF", "0000000000000000", "F21E9A77B71C49BC"},
    {"0123456789ABCDEF", "0000000000000000", "245946885754369A"},
    {"FEDCBA9876543210", "FFFFFFFFFFFFFFFF", "6B5C5A9C5D9E0A5A"},
};

static void
hex8(const char *h, unsigned char out[8])
{
	for (int i = 0; i < 8; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static void
test_blowfish(void)
{
	struct au_bf c;
	uint32_t kw[18], l, r;
	unsigned char k[8], p[8], want[8], got[8];

	/* The first words of the P-array and of S-box 0 (Schneier 1993). */
	CHECK(au_bf_init[0] == 0x243f6a88 && au_bf_init[17] == 0x8979fb1b);
	CHECK(au_bf_init[18] == 0xd1310ba6 && au_bf_init[AU_BF_WORDS - 1] == 0x3ac372e6);
	for (size_t i = 0; i < sizeof bf_ecb / sizeof bf_ecb[0]; i++) {
		hex8(bf_ecb[i][0], k);
		hex8(bf_ecb[i][1], p);
		hex8(bf_ecb[i][2], want);
		memcpy(c.w, au_bf_init, sizeof c.w);
		au_bf_stream(k, 8, kw);
		au_bf_expand(&c, kw, au_bf_zero);
		l = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		r = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		au_bf_encrypt(&c, &l, &r);
		for (int j = 0; j < 4; j++) {
			got[j] = (unsigned char)(l >> (24 - 8 * j));
			got[4 + j] = (unsigned char)(r >> (24 - 8 * j));
		}
		if (memcmp(got, want, 8) != 0)
			printf("  blowfish vector %zu: key %s\n", i, bf_ecb[i][0]);
		CHECK(memcmp(got, want, 8) == 0);
	}
}

/* ---- good vectors: crypt_blowfish's test set (Openwall), confirmed with
 * libxcrypt; htpasswd 2.4 output; libxcrypt $1$. */
struct vec {
	const char *pass;
	size_t plen;
	const char *hash;
	int want;
};

static const struct vec vecs[] = {
    {S("U*U"), "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 1},
    {S("U*U"), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 1},
    {S("U*U"), "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 1},
    {S("U*U*"), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", 1},
    {S("U*U*U"), "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", 1},
    {S("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
       "chars after 72 are ignored"),
     "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", 1},
    {S(""), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", 1},
    {S("\xff\xff\xa3"), "$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", 1},
    {S("\xff\xff\xa3"), "$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", 1},
    /* crypt_blowfish's $2a$ "safety" tweak for this password: documented
     * mismatch (we compute $2a$ as $2b$, like OpenBSD and Go). */
    {S("\xff\xff\xa3"), "$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85.", 0},
    {S("\xa3"), "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", 1},
    {S("\xa3"), "$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", 1},
    {S("\xff\xa3"
       "345"),
     "$2b$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e", 1},
    {S("\xa3"
       "ab"),
     "$2a$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS", 1},
    {S("abc"), "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpYn2", 1},
    {S("correct horse"), "$2b$04$saltsaltsaltsaltsalt.uYdq2ryPPz6zx/0dbT5QYF0uS4r5I4c6", 1},
    {S("correct horse"), "$2b$05$saltsaltsaltsaltsalt.uLym0LBAYKQiLfTRbuLnwTNGdVF6hW2S", 1},
    {S("correct horse"), "$2b$06$saltsaltsaltsaltsalt.u.G/MKvHTCsvLWYJQMrzPrzkaK3AYFIa", 1},
    {S("correct horse"), "$2b$07$saltsaltsaltsaltsalt.uwFszKABBgKMPgJt8p1Z/xeA/XY96ohS", 1},
    {S("correct horse"), "$2b$08$saltsaltsaltsaltsalt.u00mtDnUWAFQet.WVktIoP8Hj/JHBgHq", 1},
    {S("correct horse"), "$2b$09$saltsaltsaltsaltsalt.uiykNX7am2xst7ht1/C6IgiVrP3TllSG", 1},
    {S("correct horse"), "$2b$10$saltsaltsaltsaltsalt.u1XCMM3mjQziygu18B9sP27bAx42W.ei", 1},
    {S("correct horse"), "$2b$11$saltsaltsaltsaltsalt.ut8eZZTf4Xc5u2RjHohwfT0hQm13mUbK", 1},
    {S("correct horse"), "$2b$12$saltsaltsaltsaltsalt.uphVDxNK.5Kewi5gwFBnu2DxD4cah49.", 1},
    {S("correct hors"), "$2b$04$saltsaltsaltsaltsalt.uYdq2ryPPz6zx/0dbT5QYF0uS4r5I4c6", 0},
    {S("correct horsE"), "$2b$04$saltsaltsaltsaltsalt.uYdq2ryPPz6zx/0dbT5QYF0uS4r5I4c6", 0},
    {S("correct horse "), "$2b$04$saltsaltsaltsaltsalt.uYdq2ryPPz6zx/0dbT5QYF0uS4r5I4c6", 0},
    {S(""), "$2b$04$saltsaltsaltsaltsalt.uYdq2ryPPz6zx/0dbT5QYF0uS4r5I4c6", 0},
    {S("U*U"), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", 0},
    /* htpasswd -nbB -C 5 user pass / -C 4 user Tr0ub4dor&3 */
    {S("pass"), "$2y$05$Iy0JaVZOgEiAfGZYRRks4e9g1FhOeAg0tk1DyK8whnC/K9AJwTOe6", 1},
    {S("Pass"), "$2y$05$Iy0JaVZOgEiAfGZYRRks4e9g1FhOeAg0tk1DyK8whnC/K9AJwTOe6", 0},
    {S("Tr0ub4dor&3"), "$2y$04$WUEVHuTdqOBhMsxq8.QJ7eKDm0IFFtqyOFDie50PtsSEVmMZ0w2vC", 1},
    /* MD5-crypt: libxcrypt ($1$) */
    {S(""), "$1$$qRPK7m23GJusamGpoGLby/", 1},
    {S("a"), "$1$s$TnTS2d.76xCjLeeIhMx3L0", 1},
    {S("password"), "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", 1},
    {S("password"), "$1$12345678$o2n/JiO/h5VviOInWJ4OQ/", 1},
    {S("passworD"), "$1$12345678$o2n/JiO/h5VviOInWJ4OQ/", 0},
    {S("xxxxxxxxxxxxxxx"), "$1$abc$qq/qvWQ81lGONRXXx/x0f.", 1},
    {S("xxxxxxxxxxxxxxxx"), "$1$abc$ykeikgE1MxS0uQItu.yD/0", 1},
    {S("xxxxxxxxxxxxxxxxx"), "$1$abc$eLeCputoeCaJoloscbGQp1", 1},
    {S("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"), "$1$./09AZaz$JCJjU6JJVu3S06nhjtWbb0", 1},
    {S("\xe9t\xe9\xff"), "$1$8bit$n1AvsODWQBaErLzPz7f8G0", 1},
    {S("U*U"), "$1$CCCC$ZV2xGDQ4ddmar7fVrfujJ/", 1},
    /* MD5-crypt: htpasswd -nbm ($apr1$) */
    {S("pass"), "$apr1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.", 1},
    {S("pass"), "$apr1$vstAuC9/$4jpZxQs3wt.qBMsFSguOb.", 1},
    {S("p@ss w0rd:colon"), "$apr1$aRclV8Et$mMwCNkYrB3HCP.ShNkMGv.", 1},
    {S(""), "$apr1$/KzqYZe1$CFDbf.P0hK5U5pCRyo3281", 1},
    {S("caf\xc3\xa9"), "$apr1$ZxCXkZFt$wXpbDbHGNo2E9wEB7.rNj/", 1},
    {S("pas"), "$apr1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.", 0},
    /* the same salt and digest under the other magic is another hash */
    {S("pass"), "$1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.", 0},
    /* {SHA}: htpasswd -nbs */
    {S("pass"), "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=", 1},
    {S(""), "{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk=", 1},
    {S("Tr0ub4dor&3"), "{SHA}h0Vy56WuaklGamrFeLmK26eMaqY=", 1},
    {S("pass "), "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=", 0},
};

static void
test_vectors(void)
{
	for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
		const struct vec *v = &vecs[i];
		CHECK_EQ(gcheck(v->pass, v->plen, v->hash), v->want, v->hash);
	}
}

/* bcrypt keys are the first 72 bytes; md5-crypt and {SHA} use all. */
static void
test_lengths(void)
{
	char a[300];
	const char *h71 = "$2b$04$abcdefghijklmnopqrstuuMCu.k1vM/ywQwiONaEn3oEMlZoCVBd6";
	const char *h72 = "$2b$04$abcdefghijklmnopqrstuuBzzIgyKkz7xMWYSzkIjUSnxEQFQ0WNe";

	memset(a, 'a', sizeof a);
	CHECK_EQ(gcheck(a, 71, h71), 1, "71");
	CHECK_EQ(gcheck(a, 72, h71), 0, "72 vs 71");
	CHECK_EQ(gcheck(a, 70, h71), 0, "70 vs 71");
	CHECK_EQ(gcheck(a, 72, h72), 1, "72");
	CHECK_EQ(gcheck(a, 73, h72), 1, "73 cut to 72");
	CHECK_EQ(gcheck(a, 200, h72), 1, "200 cut to 72");
	CHECK_EQ(gcheck(a, 300, h72), 1, "300 cut to 72 (no $2a$ 8-bit length wrap)");
	CHECK_EQ(gcheck(a, 71, h72), 0, "71 vs 72");
	memset(a, 'z', 200);
	CHECK_EQ(gcheck(a, 200, "$1$long$hcCPH3sTVBMDjneGefYdH1"), 1, "md5 200");
	CHECK_EQ(gcheck(a, 199, "$1$long$hcCPH3sTVBMDjneGefYdH1"), 0, "md5 199");

	/* The two 8-bit patterns of crypt_blowfish's test set. */
	for (int i = 0; i < 72; i++)
		a[i] = (char)0xaa;
	memcpy(a + 72, "chars after 72 are ignored as usual", 35);
	CHECK_EQ(gcheck(a, 107, "$2a$05$/OK.fbVrR/bpIqNJ5ianF.swQOIzjOiJ9GHEPuhEkvqrUyvWhEMx6"), 1,
	         "0xaa x72");
	for (int i = 0; i < 73; i++)
		a[i] = (char)(i & 1 ? 0x55 : 0xaa);
	CHECK_EQ(gcheck(a, 73, "$2a$05$/OK.fbVrR/bpIqNJ5ianF.R9xrDjiycxMbQE2bp.vgqlYpW5wx2yy"), 1,
	         "aa55");
	for (int i = 0; i < 73; i++)
		a[i] = (char)(i % 3 == 0 ? 0x55 : i % 3 == 1 ? 0xaa : 0xff);
	CHECK_EQ(gcheck(a, 73, "$2a$05$/OK.fbVrR/bpIqNJ5ianF.9tQZzcJfm3uj2NvJ/n5xkhpqLrMpWCe"), 1,
	         "55aaff");
}

/* A NUL in the password: C-string bcrypt would cut "abc\0..." to "abc",
 * and 18 x "abc\0" is exactly the key stream of "abc". au_check refuses. */
static void
test_nul_password(void)
{
	const char *habc = "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpYn2";
	char p[72];

	for (int i = 0; i < 72; i += 4)
		memcpy(p + i, "abc", 4);
	CHECK_EQ(gcall(au_bcrypt_check, p, 72, habc, 60), 1, "raw bcrypt sees the same key");
	CHECK_EQ(gcheck(p, 72, habc), 0, "au_check: NUL in password never matches");
	CHECK_EQ(gcheck("abc\0", 4, habc), 0, "abc NUL");
	CHECK_EQ(gcheck("abc\0x", 5, habc), 0, "abc NUL x");
	CHECK_EQ(gcheck("pass\0", 5, "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ="), 0, "sha NUL");
	CHECK_EQ(gcheck("\0", 1, "{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk="), 0, "sha lone NUL");
	/* malformed stays malformed whatever the password */
	CHECK_EQ(gcheck("a\0b", 3, "$2b$04$abc"), ING_ERR, "NUL pass, bad hash");
}

static void
test_kind(void)
{
	CHECK(au_kind(S("$2y$05$x")) == AU_BCRYPT);
	CHECK(au_kind(S("$2a$")) == AU_BCRYPT);
	CHECK(au_kind(S("$2b$")) == AU_BCRYPT);
	CHECK(au_kind(S("$1$")) == AU_MD5CRYPT);
	CHECK(au_kind(S("$apr1$")) == AU_MD5CRYPT);
	CHECK(au_kind(S("{SHA}")) == AU_SHA1);
	CHECK(au_kind(S("$2x$05$")) == AU_NONE);
	CHECK(au_kind(S("$2$")) == AU_NONE);
	CHECK(au_kind(S("$5$abc")) == AU_NONE);
	CHECK(au_kind(S("$6$abc")) == AU_NONE);
	CHECK(au_kind(S("{SSHA}abc")) == AU_NONE);
	CHECK(au_kind(S("{sha}abc")) == AU_NONE);
	CHECK(au_kind(S("plaintext")) == AU_NONE);
	CHECK(au_kind(S("")) == AU_NONE);
	CHECK(au_kind(S("$2")) == AU_NONE);
	CHECK(au_kind(S("$apr")) == AU_NONE);
	/* never reads past hlen */
	CHECK(au_kind(flush(guard_h, "$2b$", 3), 3) == AU_NONE);
	CHECK(au_kind(flush(guard_h, "{SHA", 4), 4) == AU_NONE);
	CHECK(au_kind(flush(guard_h, "", 0), 0) == AU_NONE);
}

/* Every one of these must be ING_ERR ("unsupported hash format"). */
static const char *const malformed[] = {
    "",
    "$",
    "$2",
    "$2b",
    "$2b$",
    "$2b$05$",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",   /* 59 */
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW", /* 61 */
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n",
    " $2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2x$05$/OK.fbVrR/bpIqNJ5ianF.Wimg0Iq4HNnS/9VfFNNFmvFafObByfu", /* the buggy variant */
    "$2c$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx",
    "$2B$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx",
    "$2b$05CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx",
    "$2b$005CCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx",
    "$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$00$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$13$saltsaltsaltsaltsalt.u6WIjnkGOjpHnDFm/fF9a4HgjWemsEWa", /* valid, over the cap */
    "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$-5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$ 5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$0a$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$05$CCCCCCCCCCCCCCCCCCCC+.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* RFC 4648 char */
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC-E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC$E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe=",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeX", /* non-canonical tail */
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe\xd7",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0X\x80uQYb4YMJKvyOeW",
    "$1$",
    "$1$salt",
    "$1$salt$",
    "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK",    /* 21 */
    "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK//",  /* 23 */
    "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/$",
    "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/\n",
    "$1$123456789$o2n/JiO/h5VviOInWJ4OQ/",  /* salt of 9 */
    "$1$123456789012$o2n/JiO/h5VviOInWJ4OQ/",
    "$1$sa!t$qjXMvbEw8oaL.CzflDtaK/",        /* salt char outside ./0-9A-Za-z */
    "$1$sa t$qjXMvbEw8oaL.CzflDtaK/",
    "$1$saltsalt$qjXMvbEw8oaL+CzflDtaK/",    /* hash char */
    "$1$saltsalt$qjXMvbEw8oaL.CzflDtaKz",    /* last char has bits over 8 */
    "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/x",
    "$1$$$qRPK7m23GJusamGpoGLby/",
    "$1qRPK7m23GJusamGpoGLby/",
    "$apr1$",
    "$apr1$JO6NvsiJ",
    "$apr1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF",
    "$apr1$JO6NvsiJx$tUYJ.p7YPYPsl93ysilmF.",
    "$apr$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.",
    "$APR1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.",
    "{SHA}",
    "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ",       /* unpadded: 27 */
    "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ==",
    "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oR=",      /* non-zero unused bits */
    "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQA",      /* 21 bytes */
    "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5o==",      /* 19 bytes */
    "{SHA}nU4eI71bcnBGqeO0t9t-vY1u5oQ=",
    "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=\n",
    "{SHA} nU4eI71bcnBGqeO0t9tXvY1u5oQ=",
    "{SHA}nU4eI71bcnBGqeO0 9tXvY1u5oQ=",
    "{sha}nU4eI71bcnBGqeO0t9tXvY1u5oQ=",
    "{SSHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=",
    "pass",                                   /* plain text */
    "abccBcrPOxnLU",                          /* DES crypt of "pass" */
    "_J9..CCCCXBrJUJV154M",                   /* BSDi extended DES */
    "$5$saltsalt$9k0iflfLhuazVMAUTm0egnVlpP5ays5xBLqSJuoPfB9",
    "$6$saltsalt$KN.twvCyfwE67paW76hS2/bacYkY9PxIhxqYG9vL5bZmIwWBGDJ6mu4HlCosKUBfQwVXKXxXVXPcqdwd1Ip0X/",
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$y$j9T$salt$hash",
    "$md5$salt$hash",
};

static void
test_malformed(void)
{
	char buf[160];

	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		size_t n = strlen(malformed[i]);
		CHECK_EQ(gcheck(S("pass"), malformed[i]), ING_ERR, malformed[i]);
		CHECK(au_hash_error(flush(guard_h, malformed[i], n), n) != NULL);
	}
	/* each checker alone refuses the other kinds */
	CHECK_EQ(gcall(au_md5crypt_check, S("pass"), S("{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=")), ING_ERR,
	         "md5 given sha");
	CHECK_EQ(gcall(au_sha_check, S("pass"), S("$apr1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.")), ING_ERR,
	         "sha given md5");
	CHECK_EQ(gcall(au_bcrypt_check, S("pass"), S("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/")), ING_ERR,
	         "bcrypt given md5");
	/* NUL inside otherwise valid hashes, at every position */
	for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
		size_t n = strlen(vecs[i].hash);
		for (size_t k = 0; k < n; k++) {
			memcpy(buf, vecs[i].hash, n);
			buf[k] = '\0';
			CHECK_EQ(gcall(au_check, vecs[i].pass, vecs[i].plen, buf, n), ING_ERR, vecs[i].hash);
		}
	}
}

/* Every proper prefix and every one-byte extension of a good hash is
 * malformed; the guard page catches any read past the end. */
static void
test_prefixes(void)
{
	char buf[160];

	for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
		const struct vec *v = &vecs[i];
		size_t n = strlen(v->hash);
		int bad = 0;
		for (size_t k = 0; k < n; k++) {
			bad += gcall(au_check, v->pass, v->plen, v->hash, k) != ING_ERR;
			bad += au_hash_error(flush(guard_h, v->hash, k), k) == NULL;
		}
		bad += au_hash_error(flush(guard_h, v->hash, n), n) != NULL;
		memcpy(buf, v->hash, n);
		for (int c = 0; c < 256; c += 17) {
			buf[n] = (char)c;
			bad += gcall(au_check, v->pass, v->plen, buf, n + 1) != ING_ERR;
		}
		CHECK_EQ(bad, 0, v->hash);
	}
}

/* Change one byte of a good hash to each of many values: the result is
 * ING_ERR or 0, never 1, except at bcrypt's salt last character, whose low
 * 4 bits are unused (OpenBSD decodes and ignores them): there a character
 * with the same top 2 bits matches, another valid one is a different salt. */
static void
test_mutations(void)
{
	static const struct vec good[] = {
	    {S("abc"), "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpYn2", 1},
	    {S("password"), "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", 1},
	    {S("pass"), "$apr1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF.", 1},
	    {S("pass"), "{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=", 1},
	};
	static const unsigned char bc_bytes[] = {
	    0,   '\n', ' ', '$', '+', '-', '.', '/', '0', '4', '5', '9', '=', 'A', 'N',
	    'O', 'Z',  'a', 'b', 'u', 'v', 'w', 'x', 'y', 'z', '{', '~', 0x7f, 0x80, 0xae, 0xff};
	char buf[160];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		const struct vec *v = &good[i];
		size_t n = strlen(v->hash);
		int is_bc = v->hash[1] == '2', bad = 0, ones = 0;
		size_t nb = is_bc ? sizeof bc_bytes : 256;

		for (size_t k = 0; k < n; k++) {
			for (size_t b = 0; b < nb; b++) {
				unsigned char c = is_bc ? bc_bytes[b] : (unsigned char)b;
				int r, want_one = 0;

				if (c == (unsigned char)v->hash[k])
					continue;
				memcpy(buf, v->hash, n);
				buf[k] = (char)c;
				r = gcall(au_check, v->pass, v->plen, buf, n);
				if (is_bc && k == 28) {
					/* 'u' is 48 = 0b11xxxx */
					uint32_t val = au_b64_val(c, AU_B64_BCRYPT);
					want_one = val != 0 && (val - 1) >> 4 == 3;
					ones += r == 1;
					bad += want_one ? r != 1 : r == 1;
				} else if (is_bc && k == 2 && (c == 'a' || c == 'y'))
					bad += r != 1; /* $2a$ $2y$ $2b$ are one */
				else
					bad += r == 1;
				bad += r != 0 && r != 1 && r != ING_ERR;
			}
		}
		CHECK_EQ(bad, 0, v->hash);
		if (is_bc) /* v w x y z 0 4 5 9 */
			CHECK_EQ(ones, 9, "salt tails that decode alike");
	}
}

/* au_hash_error: NULL exactly when au_check can answer 0 or 1, and a
 * reason the Secret loader can log otherwise. */
static void
test_hash_error(void)
{
	static const struct {
		const char *hash;
		const char *why;
	} t[] = {
	    {"$2b$13$saltsaltsaltsaltsalt.u6WIjnkGOjpHnDFm/fF9a4HgjWemsEWa",
	     "bcrypt cost too high (limit is 12, AU_MAX_BCRYPT_COST)"},
	    {"$2y$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	     "bcrypt cost too high (limit is 12, AU_MAX_BCRYPT_COST)"},
	    {"$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "malformed bcrypt hash"},
	    {"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", "malformed bcrypt hash"},
	    {"$2b$13$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", "malformed bcrypt hash"},
	    {"$1$123456789$o2n/JiO/h5VviOInWJ4OQ/", "malformed md5-crypt hash"},
	    {"$apr1$JO6NvsiJ$tUYJ.p7YPYPsl93ysilmF", "malformed md5-crypt hash"},
	    {"{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oR=", "malformed {SHA} hash"},
	    {"pass", "unsupported hash format (use htpasswd -B, -m or -s)"},
	    {"$2x$05$/OK.fbVrR/bpIqNJ5ianF.Wimg0Iq4HNnS/9VfFNNFmvFafObByfu",
	     "unsupported hash format (use htpasswd -B, -m or -s)"},
	    {"$6$saltsalt$x", "unsupported hash format (use htpasswd -B, -m or -s)"},
	    {"", "unsupported hash format (use htpasswd -B, -m or -s)"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = strlen(t[i].hash);
		const char *why = au_hash_error(flush(guard_h, t[i].hash, n), n);
		CHECK(why != NULL && strcmp(why, t[i].why) == 0);
		if (why == NULL || strcmp(why, t[i].why) != 0)
			printf("  %s: got \"%s\"\n", t[i].hash, why ? why : "(null)");
	}
	for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
		CHECK(au_hash_error(vecs[i].hash, strlen(vecs[i].hash)) == NULL);
}

static void
test_ct_eq(void)
{
	unsigned char a[64], b[64];

	memset(a, 0x5a, sizeof a);
	memcpy(b, a, sizeof b);
	CHECK(au_ct_eq(a, b, 64) == 1);
	CHECK(au_ct_eq(a, b, 0) == 1);
	for (int i = 0; i < 64; i++)
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1 << bit);
			CHECK(au_ct_eq(a, b, 64) == 0);
			b[i] ^= (unsigned char)(1 << bit);
		}
	b[63] = 0xa5;
	CHECK(au_ct_eq(a, b, 63) == 1);
}

/* ---- base64 */
static size_t
ref_b64(const unsigned char *in, size_t n, char *out, int pad)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = t[v >> 18];
		out[o++] = t[v >> 12 & 63];
		out[o++] = t[v >> 6 & 63];
		out[o++] = t[v & 63];
	}
	if (n - i == 1) {
		out[o++] = t[in[i] >> 2];
		out[o++] = t[(in[i] & 3) << 4];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = t[v >> 10];
		out[o++] = t[v >> 4 & 63];
		out[o++] = t[(v & 15) << 2];
		if (pad)
			out[o++] = '=';
	}
	return o;
}

static int
b64(const char *s, size_t n, unsigned char *out, size_t cap)
{
	return au_b64_decode(flush(guard_h, s, n), n, out, cap);
}

static void
test_b64(void)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
	} t[] = {
	    /* RFC 4648 section 10, padded and not */
	    {"", ""},
	    {"Zg==", "f"},
	    {"Zm8=", "fo"},
	    {"Zm9v", "foo"},
	    {"Zm9vYg==", "foob"},
	    {"Zm9vYmE=", "fooba"},
	    {"Zm9vYmFy", "foobar"},
	    {"Zg", "f"},
	    {"Zm8", "fo"},
	    {"Zm9vYg", "foob"},
	    {"Zm9vYmE", "fooba"},
	    {"dXNlcjpwYXNz", "user:pass"},
	    {"+/+/", "\xfb\xff\xbf"},
	    {"Z", NULL},
	    {"Zm9vY", NULL},
	    {"Zg=", NULL},
	    {"Zg===", NULL},
	    {"Z===", NULL},
	    {"====", NULL},
	    {"=", NULL},
	    {"==", NULL},
	    {"Zm9v=", NULL},
	    {"Zm9v====", NULL},
	    {"Zg==Zg==", NULL},
	    {"Zg==Zm9v", NULL},
	    {"Z=g=", NULL},
	    {"Zh==", NULL},  /* unused bits set */
	    {"Zm9=", NULL},
	    {"Zh", NULL},
	    {"Zm9", NULL},
	    {"Zm9v\n", NULL},
	    {"Zm9v ", NULL},
	    {" Zm9v", NULL},
	    {"Zm 9v", NULL},
	    {"Zm\r\n9v", NULL},
	    {"Zm9-", NULL},  /* base64url */
	    {"Zm9_", NULL},
	    {"Zm9\x80", NULL},
	    {"Zm9\xff", NULL},
	    {"Zm.v", NULL},
	    {"Zm:v", NULL},
	    {"Zm@v", NULL},
	    {"Zm[v", NULL},
	    {"Zm`v", NULL},
	    {"Zm{v", NULL},
	};
	unsigned char out[64];
	char enc[64];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int r = b64(t[i].in, strlen(t[i].in), out, sizeof out);
		if (t[i].out == NULL)
			CHECK_EQ(r, ING_ERR, t[i].in);
		else {
			CHECK_EQ(r, (long)strlen(t[i].out), t[i].in);
			CHECK(r >= 0 && memcmp(out, t[i].out, (size_t)r) == 0);
		}
	}
	/* NUL inside */
	CHECK_EQ(b64("Zm\0v", 4, out, sizeof out), ING_ERR, "NUL");
	CHECK_EQ(b64("Zm9v\0", 5, out, sizeof out), ING_ERR, "NUL tail");
	/* capacity: exact fits, one short refused and nothing written */
	CHECK_EQ(b64("Zm9vYmFy", 8, out, 6), 6, "cap exact");
	memset(out, 0xee, sizeof out);
	CHECK_EQ(b64("Zm9vYmFy", 8, out, 5), ING_ERR, "cap short");
	CHECK(out[0] == 0xee);
	CHECK_EQ(b64("Zg==", 4, out, 0), ING_ERR, "cap 0");
	CHECK_EQ(b64("", 0, out, 0), 0, "empty, cap 0");
	/* a bad char late: what was decoded is wiped */
	memset(out, 0xee, sizeof out);
	CHECK_EQ(b64("Zm9vYmF!", 8, out, sizeof out), ING_ERR, "late bad char");
	CHECK(out[0] == 0 && out[1] == 0 && out[5] == 0 && out[6] == 0xee);

	/* Exhaustive over lengths 1..3: accepted iff it is the unpadded
	 * encoding of some bytes, and then decodes to them. */
	{
		static unsigned char ok2[1 << 16], ok3[1 << 24];
		unsigned char y[3];
		long bad = 0, acc = 0;

		for (unsigned v = 0; v < (1u << 8); v++) {
			y[0] = (unsigned char)v;
			ref_b64(y, 1, enc, 0);
			ok2[(unsigned char)enc[0] << 8 | (unsigned char)enc[1]] = 1;
		}
		for (unsigned v = 0; v < (1u << 16); v++) {
			y[0] = (unsigned char)(v >> 8);
			y[1] = (unsigned char)v;
			ref_b64(y, 2, enc, 0);
			ok3[(unsigned)(unsigned char)enc[0] << 16 | (unsigned char)enc[1] << 8 |
			    (unsigned char)enc[2]] = 1;
		}
		for (unsigned c = 0; c < (1u << 8); c++) {
			char s[1] = {(char)c};
			bad += b64(s, 1, out, sizeof out) != ING_ERR;
		}
		for (unsigned c = 0; c < (1u << 16); c++) {
			char s[2] = {(char)(c >> 8), (char)c};
			int r = au_b64_decode(s, 2, out, sizeof out);
			acc += r == 1;
			if (ok2[c] ? r != 1 || ref_b64(out, 1, enc, 0) != 2 || memcmp(enc, s, 2) != 0
			           : r != ING_ERR)
				bad++;
		}
		for (unsigned c = 0; c < (1u << 24); c++) {
			char s[3] = {(char)(c >> 16), (char)(c >> 8), (char)c};
			int r = au_b64_decode(s, 3, out, sizeof out);
			acc += r == 2;
			if (ok3[c] ? r != 2 || ref_b64(out, 2, enc, 0) != 3 || memcmp(enc, s, 3) != 0
			           : r != ING_ERR)
				bad++;
		}
		CHECK_EQ(bad, 0, "exhaustive lengths 1..3");
		CHECK_EQ(acc, 256 + 65536, "accepted count, lengths 2..3");
	}
	/* Every encoding (padded and not) of every 1-3 byte string decodes
	 * back; of random strings up to 30 bytes too. */
	{
		long bad = 0;
		unsigned char y[32];
		uint32_t seed = 12345;

		for (unsigned v = 0; v < (1u << 24); v++) {
			y[0] = (unsigned char)(v >> 16);
			y[1] = (unsigned char)(v >> 8);
			y[2] = (unsigned char)v;
			for (size_t n = 1; n <= 3; n++) {
				if (n < 3 && (v >> (8 * n)) != 0)
					continue;
				for (int pad = 0; pad <= 1; pad++) {
					size_t m = ref_b64(y + 3 - n, n, enc, pad);
					int r = au_b64_decode(enc, m, out, n);
					bad += r != (int)n || memcmp(out, y + 3 - n, n) != 0;
				}
			}
		}
		for (int it = 0; it < 200000; it++) {
			size_t n = (seed >> 16) % 31;
			for (size_t k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				y[k] = (unsigned char)(seed >> 16);
			}
			seed = seed * 1103515245u + 12345u;
			size_t m = ref_b64(y, n, enc, (int)(seed >> 20) & 1);
			int r = b64(enc, m, out, sizeof out);
			bad += r != (int)n || memcmp(out, y, n) != 0;
		}
		CHECK_EQ(bad, 0, "encodings decode back");
	}
	/* Random strings over a small alphabet rich in edge characters:
	 * whatever is accepted is canonical (re-encodes to itself). */
	{
		static const char alpha[] = "AQgw+/=Zz09.- \n\x80";
		uint32_t seed = 777;
		long bad = 0, acc = 0;

		for (long it = 0; it < 2000000; it++) {
			char s[16];
			seed = seed * 1103515245u + 12345u;
			size_t n = (seed >> 16) % 13;
			for (size_t k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				s[k] = alpha[(seed >> 16) % (sizeof alpha - 1)];
			}
			int r = au_b64_decode(s, n, out, sizeof out);
			if (r < 0)
				continue;
			acc++;
			size_t m1 = ref_b64(out, (size_t)r, enc, 1);
			int canon = m1 == n && memcmp(enc, s, n) == 0;
			size_t m0 = ref_b64(out, (size_t)r, enc, 0);
			canon |= m0 == n && memcmp(enc, s, n) == 0;
			bad += !canon;
		}
		printf("  b64 random: %ld of 2000000 accepted, %ld not canonical\n", acc, bad);
		CHECK_EQ(bad, 0, "accepted strings are canonical");
	}
}



/* ---- whitelists */
static int
wl(const char *list, const char *peer)
{
	static struct rt_cidr c[512];
	int n = 0, invalid = 0;
	struct ing_addr a;
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		struct ing_str s = str_trim((struct ing_str){p, e ? (size_t)(e - p) : strlen(p)});
		p = e ? e + 1 : p + strlen(p);
		if (s.n == 0)
			continue;
		if (ing_cidr_parse(s.p, s.n, &c[n].family, &c[n].bits, c[n].ip) != 0)
			invalid = 1;
		else
			n++;
	}
	qsort(c, (size_t)n, sizeof c[0], wl_cmp);
	if (ing_addr_parse_ip(&a, peer, strlen(peer)) != 0)
		return -1;
	return wl_allow(c, n, invalid ? WL_DENY : n ? WL_LIST : WL_OPEN, &a);
}

static void
test_cidr(void)
{
	uint8_t fam, bits, ip[16];
	ut_name = "test_cidr";
	CHECK(ing_cidr_parse("10.1.2.3/8", 10, &fam, &bits, ip) == 0 && fam == 4 && bits == 8 && ip[0] == 10 && ip[1] == 0);
	CHECK(ing_cidr_parse("1.1.1.1/24", 10, &fam, &bits, ip) == 0 && ip[2] == 1 && ip[3] == 0);
	CHECK(ing_cidr_parse("1.2.3.4", 7, &fam, &bits, ip) == 0 && bits == 32);
	CHECK(ing_cidr_parse("fe80::1/16", 10, &fam, &bits, ip) == 0 && fam == 6 && bits == 16 && ip[15] == 0);
	CHECK(ing_cidr_parse("::/0", 4, &fam, &bits, ip) == 0 && bits == 0);
	CHECK(ing_cidr_parse("0.0.0.0/0", 9, &fam, &bits, ip) == 0);
	const char *bad[] = {"10.0.0.0/33", "1.2.3", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "a.b.c.d",
	                     "10.0.0.0/8/8", "", "1.2.3.4 /8", "::ffff:1.2.3.4/200", "1:2:3"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(ing_cidr_parse(bad[i], strlen(bad[i]), &fam, &bits, ip) != 0);
	CHECK(wl("127.0.0.2, 10.0.0.0/8", "127.0.0.2") == 1);
	CHECK(wl("127.0.0.2, 10.0.0.0/8", "127.0.0.3") == 0);
	CHECK(wl("127.0.0.2, 10.0.0.0/8", "10.200.3.4") == 1);
	CHECK(wl("fe80::/16", "fe80::abcd") == 1);
	CHECK(wl("fe80::/16", "fe81::1") == 0);
	CHECK(wl("10.0.0.0/8", "::1") == 0);
	CHECK(wl(" , ", "9.9.9.9") == 1);              /* empty: everyone */
	CHECK(wl("10.0.0.0/8, 1.2.3/33", "10.0.0.1") == 0); /* invalid: deny */
	/* a long list: grouped by prefix length, binary searched */
	char big[8192] = "";
	for (int i = 0; i < 200; i++) {
		char e[40];
		snprintf(e, sizeof e, "%s10.%d.%d.0/%d", i ? "," : "", i / 10, i % 10, 24 + i % 3);
		strcat(big, e);
	}
	strcat(big, ",2001:db8::/32,192.168.1.77");
	CHECK(wl(big, "10.3.4.9") == 1);   /* 10.3.4.0/24 (i = 34: /25? i%3 = 1 -> /25) */
	CHECK(wl(big, "10.3.4.200") == 0); /* outside the /25 */
	CHECK(wl(big, "10.19.9.1") == 1);
	CHECK(wl(big, "10.20.0.1") == 0);
	CHECK(wl(big, "192.168.1.77") == 1 && wl(big, "192.168.1.78") == 0);
	CHECK(wl(big, "2001:db8:1::5") == 1 && wl(big, "2001:db9::5") == 0);
}

/* ---- the htpasswd Secret loader (rb_auth) */
static struct cf ucf;

static const char *
load(const char *htpasswd, int nkeys, const char *type, struct rt_policy *pol, struct rt_table *t)
{
	struct st_ing *r = &g_st.ing[0];
	struct st_secret *s = &g_st.sec[0];
	static char note[64];
	memset(r, 0, sizeof *r);
	snprintf(r->h.ns, sizeof r->h.ns, "n");
	snprintf(r->h.name, sizeof r->h.name, "i");
	snprintf(r->a_auth_type, sizeof r->a_auth_type, "%s", type);
	snprintf(r->a_auth_secret, sizeof r->a_auth_secret, "pw");
	r->h.gen = 1;
	st_init();
	cf_live = &ucf;
	if (htpasswd != NULL) {
		s = st_begin(SK_SECRET);
		snprintf(s->h.ns, sizeof s->h.ns, "n");
		snprintf(s->h.name, sizeof s->h.name, "pw");
		s->nkeys = nkeys;
		snprintf(s->key[0].name, sizeof s->key[0].name, "auth");
		s->key[0].len = s->used_bytes = (uint32_t)strlen(htpasswd);
		memcpy(s->data, htpasswd, s->key[0].len);
		CHECK(st_commit(SK_SECRET, 0) == 0);
	}
	memset(pol, 0, sizeof *pol);
	t->nusers = 0;
	rb_auth(t, r, pol);
	snprintf(note, sizeof note, "%s", pol->auth == AU_BASIC ? "basic" : pol->auth == AU_DENY ? "deny" : "off");
	return note;
}

static int
login_c(struct cn *c, const struct rt_table *t, const struct rt_policy *pol, const char *userpass)
{
	static struct hp_msg m;
	char hdr[256] = "Basic ";
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(userpass), o = 6;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)userpass[i] << 16 | (i + 1 < n ? (uint32_t)(unsigned char)userpass[i + 1] << 8 : 0) |
		             (i + 2 < n ? (unsigned char)userpass[i + 2] : 0);
		hdr[o++] = b64[v >> 18];
		hdr[o++] = b64[(v >> 12) & 63];
		hdr[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		hdr[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	hdr[o] = '\0';
	m.nh = 1;
	m.h[0].name = STR_LIT("Authorization");
	m.h[0].value = (struct ing_str){hdr, o};
	return au_request(c, &m, t->users, pol, &(int){0});
}

static int
login(const struct rt_table *t, const struct rt_policy *pol, const char *userpass)
{
	return login_c(NULL, t, pol, userpass);
}

static void
test_htpasswd(void)
{
	static struct rt_table t;
	struct rt_policy pol;
	ut_name = "test_htpasswd";
	g.now = 1000;
	/* htpasswd -nbm bob builder; htpasswd -nbs carol singer (Debian's) */
	const char *file = "bob:$apr1$GpYtQx2E$Jzd7Ym6wSmKYzNiJfQ8p6/\r\n\r\n"
	                   "carol:{SHA}X9zPCbMFzMPlYX7+7QubnxKI7iM=\n\n  \n"
	                   "dave:plain\n"
	                   "bob:$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/\n";
	CHECK_STR(load(file, 1, "basic", &pol, &t), "basic");
	CHECK(pol.nuser == 3 && !strcmp(t.users[0].name, "bob") && t.users[0].line == 7); /* the last line wins */
	CHECK(!t.users[2].usable && t.users[1].usable);
	CHECK(login(&t, &pol, "bob:password") == 0);
	CHECK(login(&t, &pol, "bob:builder") == 401);
	CHECK(login(&t, &pol, "carol:singer") == 0);
	CHECK(login(&t, &pol, "carol:singer ") == 401);
	CHECK(login(&t, &pol, "dave:plain") == 401);
	CHECK(login(&t, &pol, "eve:x") == 401);
	CHECK(login(&t, &pol, "carol") == 401);
	/* cached: the second check costs no hashing (the counter says so) */
	uint64_t cached = g_au.cached;
	CHECK(login(&t, &pol, "carol:singer") == 0 && g_au.cached == cached + 1);
	/* a changed hash is a new key: the answer cached for the old one is not reused */
	char saved[sizeof t.users[1].hash];
	memcpy(saved, t.users[1].hash, sizeof saved);
	strcpy(t.users[1].hash, "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="); /* "test" */
	cached = g_au.cached;
	CHECK(login(&t, &pol, "carol:singer") == 401 && g_au.cached == cached);
	CHECK(login(&t, &pol, "carol:test") == 0 && g_au.cached == cached);
	memcpy(t.users[1].hash, saved, sizeof saved);
	CHECK(login(&t, &pol, "carol:singer") == 0 && g_au.cached == cached + 1);
	CHECK(login(&t, &pol, "carol:test") == 401);
	/* fail closed */
	CHECK_STR(load(file, 2, "basic", &pol, &t), "deny");
	CHECK_STR(load(NULL, 1, "basic", &pol, &t), "deny");
	CHECK_STR(load("a:b:c\n", 1, "basic", &pol, &t), "deny");
	CHECK_STR(load(":hash\n", 1, "basic", &pol, &t), "deny");
	CHECK_STR(load("nocolon\n", 1, "basic", &pol, &t), "deny");
	CHECK_STR(load(file, 1, "digest", &pol, &t), "deny");
	CHECK(login(&t, &pol, "carol:singer") == 401);
	CHECK_STR(load(file, 1, "BASIC", &pol, &t), "basic");
	CHECK_STR(load("", 1, "basic", &pol, &t), "basic");
	CHECK(pol.nuser == 0 && login(&t, &pol, "carol:singer") == 401);
	CHECK_STR(load(file, 1, "", &pol, &t), "off");
	/* two Authorization headers, other schemes, bad base64 */
	static struct hp_msg m;
	CHECK_STR(load(file, 1, "basic", &pol, &t), "basic");
	m.nh = 2;
	m.h[0].name = m.h[1].name = STR_LIT("Authorization");
	m.h[0].value = m.h[1].value = STR_LIT("Basic Y2Fyb2w6c2luZ2Vy");
	CHECK(au_request(NULL, &m, t.users, &pol, &(int){0}) == 401);
	m.nh = 1;
	CHECK(au_request(NULL, &m, t.users, &pol, &(int){0}) == 0);
	m.h[0].value = STR_LIT("basic Y2Fyb2w6c2luZ2Vy");
	CHECK(au_request(NULL, &m, t.users, &pol, &(int){0}) == 0); /* the scheme is case-insensitive */
	m.h[0].value = STR_LIT("Basic Y2Fyb2w6c2luZ2Vy=");
	CHECK(au_request(NULL, &m, t.users, &pol, &(int){0}) == 401);
	m.h[0].value = STR_LIT("Bearer Y2Fyb2w6c2luZ2Vy");
	CHECK(au_request(NULL, &m, t.users, &pol, &(int){0}) == 401);
}

/* bcrypt checks for clients are queued and run in slices (review finding
 * 6), and an unknown name costs a check of the same kind (finding 7). */
static void
test_auth_queue(void)
{
	static struct rt_table t;
	struct rt_policy pol;
	char pw[32];
	ut_name = "test_auth_queue";
	g.now = 1000;
	memset(&g_cn, 0, sizeof g_cn);
	cn_init();
	struct cn *c1 = cn_new(CN_CLIENT, -1), *c2 = cn_new(CN_CLIENT, -1), *c3 = cn_new(CN_CLIENT, -1);
	c1->state = c2->state = c3->state = CS_AUTH;
	/* cost 10, password "" (the vector of Python's bcrypt tests) */
	CHECK_STR(load("eve:$2a$10$k1wbIrmNyFAPwPVPSVa/zecw2BCEnBwVS2GbrmgzxFUOqW9dk4TCW\n", 1, "basic", &pol, &t), "basic");
	uint64_t hashes = g_au.hashes, cached = g_au.cached;
	CHECK(login_c(c1, &t, &pol, "eve:") == ING_WAIT && g_au.njobs == 1);
	CHECK(login_c(c2, &t, &pol, "eve:") == ING_WAIT && g_au.njobs == 1 && c2->ctx == c1->ctx); /* one check per key */
	/* the clock stands still here: a turn runs AU_SLICE_BATCHES x AU_SLICE_ROUNDS rounds at most */
	_Static_assert(AU_SLICE_BATCHES * AU_SLICE_ROUNDS < 1024, "a cost-10 check takes several turns");
	au_run();
	CHECK(g_au.njobs == 1 && g_au.hashes == hashes && !(c1->flags & CNF_AGAIN));
	CHECK(au_next() == g.now); /* more to do: the loop does not sleep */
	for (int i = 0; i < 8 && g_au.njobs > 0; i++)
		au_run();
	CHECK(g_au.njobs == 0 && g_au.hashes == hashes + 1 && au_next() == 0);
	CHECK((c1->flags & CNF_AGAIN) && (c2->flags & CNF_AGAIN) && !(c3->flags & CNF_AGAIN));
	CHECK(login_c(c1, &t, &pol, "eve:") == 0 && g_au.cached == cached + 1); /* the answer, from the cache */
	/* an unknown name: the stand-in's check, never a match, even with its password */
	CHECK(login_c(c3, &t, &pol, "mallory:") == ING_WAIT && g_au.njobs == 1);
	for (int i = 0; i < 8 && g_au.njobs > 0; i++)
		au_run();
	CHECK(g_au.hashes == hashes + 2 && (c3->flags & CNF_AGAIN));
	CHECK(login_c(c3, &t, &pol, "mallory:") == 401);
	CHECK(login(&t, &pol, "mallory:") == 401 && login(&t, &pol, "eve:") == 0);
	/* a full queue answers 429, counted as a limit hit */
	uint64_t hits = g_lim.hits[LIM_AUTH_CHECKS];
	for (int i = 0; i < ING_MAX_AUTH_CHECKS; i++) {
		snprintf(pw, sizeof pw, "eve:wrong%d", i);
		CHECK(login_c(c1, &t, &pol, pw) == ING_WAIT);
	}
	CHECK(login_c(c2, &t, &pol, "eve:wrong-again") == 429 && g_lim.hits[LIM_AUTH_CHECKS] == hits + 1);
	CHECK(login_c(c2, &t, &pol, "eve:wrong3") == ING_WAIT); /* that one is queued: it waits too */
	while (g_au.njobs > 0)
		au_run();
	CHECK(login_c(c2, &t, &pol, "eve:wrong3") == 401);
	/* the budget: once spent, the loop waits for it to refill */
	g_au.tokens = -AU_BUDGET_MS / 2;
	CHECK(login_c(c1, &t, &pol, "eve:over budget") == ING_WAIT);
	au_run();
	CHECK(g_au.njobs == 1 && au_next() > g.now);
	g_au.tokens = AU_BUDGET_MS;
	while (g_au.njobs > 0)
		au_run();
	cn_free(c1);
	cn_free(c2);
	cn_free(c3);
}

int
main(void)
{
	g.log_fd = open("/dev/null", O_WRONLY);
	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	guard_h = guard_new();
	guard_p = guard_new();
	RUN(test_ct_eq);
	RUN(test_blowfish);
	RUN(test_b64);
	RUN(test_kind);
	RUN(test_vectors);
	RUN(test_lengths);
	RUN(test_nul_password);
	RUN(test_malformed);
	RUN(test_prefixes);
	RUN(test_mutations);
	RUN(test_hash_error);
	RUN(test_cidr);
	RUN(test_htpasswd);
	RUN(test_auth_queue);
	printf("unit_auth: %d passed, %d failed\n", ut_pass, ut_fail);
	return ut_fail != 0;
}
