/* test/fuzz/fuzz_access.c - libFuzzer target for access control input:
 * the whitelist-source-range list parser, the htpasswd Secret loader and
 * the Authorization header decoder. The first byte picks which. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cf fz_cf;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rt_table t;
	static struct hp_msg m;
	g.log_fd = -1;
	if (size < 1)
		return 0;
	cf_defaults(&fz_cf);
	cf_live = &fz_cf;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: { /* whitelist: as js_ingress_whitelist splits it */
		struct rt_cidr c[64];
		int k = 0;
		struct ing_addr peer = {.family = 4, .ip = {10, 0, 0, 1}};
		for (size_t i = 0; i <= n && k < 64;) {
			size_t j = i;
			while (j < n && p[j] != ',')
				j++;
			struct ing_str e = str_trim((struct ing_str){p + i, j - i});
			i = j + 1;
			if (e.n && ing_cidr_parse(e.p, e.n, &c[k].family, &c[k].bits, c[k].ip) == 0)
				k++;
		}
		qsort(c, (size_t)k, sizeof c[0], wl_cmp);
		wl_allow(c, k, WL_LIST, &peer);
		break;
	}
	case 1: { /* htpasswd lines of an auth Secret */
		struct rt_policy pol;
		struct st_ing *r = &g_st.ing[0];
		st_init();
		memset(r, 0, sizeof *r);
		strcpy(r->h.ns, "n");
		strcpy(r->h.name, "i");
		strcpy(r->a_auth_type, "basic");
		strcpy(r->a_auth_secret, "s");
		r->h.logged = r->h.gen = 1;
		struct st_secret *s = st_begin(SK_SECRET);
		strcpy(s->h.ns, "n");
		strcpy(s->h.name, "s");
		s->nkeys = 1;
		strcpy(s->key[0].name, "auth");
		s->key[0].len = s->used_bytes = (uint32_t)ING_MIN(n, sizeof s->data);
		memcpy(s->data, p, s->key[0].len);
		st_commit(SK_SECRET, 0);
		memset(&pol, 0, sizeof pol);
		t.nusers = 0;
		rb_auth(&t, r, &pol);
		break;
	}
	default: { /* an Authorization header against a fixed user */
		struct rt_policy pol = {.auth = AU_BASIC, .user = 0, .nuser = 1};
		strcpy(t.users[0].name, "u");
		strcpy(t.users[0].hash, "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=");
		t.users[0].usable = 1;
		m.nh = 1;
		m.h[0].name = STR_LIT("authorization");
		m.h[0].value = (struct ing_str){p, n};
		g.now = 1000;
		au_request(NULL, &m, t.users, &pol, &(int){0});
		break;
	}
	}
	return 0;
}
