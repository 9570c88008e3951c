/* test/fuzz/fuzz_hdr.c - libFuzzer target for the header annotations: the
 * "Name:value||Name2:value2" map parser (rb_hdr_map), then the same text as
 * custom-request-headers and custom-response-headers of a policy (rb_edit):
 * no edit may carry a control byte, a non-token name, or a name ingressd
 * writes itself, and the parser must always move on. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct st_ing r;
	static struct rt_policy pol;
	struct rt_table *t = &g_rb.t[0];
	struct ing_str v = {(const char *)data, size}, name, value;
	size_t pos = 0, last = 0;
	int k;
	g.log_fd = -1;
	while ((k = rb_hdr_map(v, &pos, &name, &value)) != 0) {
		if (pos <= last || pos > size)
			__builtin_trap(); /* always moves on, never past the end */
		if (k > 0 && (name.n == 0 || name.p < v.p || value.p + value.n > v.p + v.n || name.p[0] == ' ' ||
		              (value.n > 0 && value.p[value.n - 1] == ' ')))
			__builtin_trap(); /* a trimmed, non-empty name inside the input */
		last = pos;
	}
	for (int kind = EK_REQ; kind <= EK_RESP; kind++) {
		memset(&r, 0, sizeof r);
		memset(&pol, 0, sizeof pol);
		t->nedits = 0;
		t->nebytes = 0;
		if (rb_edit_map(t, &r, &pol, "fuzz", v, kind) != 0 && pol.refused == NULL)
			__builtin_trap(); /* a refusal always says why */
		for (int i = 0; i < pol.ed_n; i++) {
			const struct rt_edit *x = &t->edits[pol.ed_first + i];
			struct ing_str n = {t->ebytes + x->off, x->nlen}, val = {t->ebytes + x->off + x->nlen, x->vlen};
			uint32_t bit = 1u << hp_hid(n);
			if (n.n == 0 || !rb_hdr_value_ok(val) || (bit & HH_HOP) || (kind == EK_REQ && (bit & HH_OURS)))
				__builtin_trap();
			for (size_t b = 0; b < n.n; b++)
				if (!hp_tchar[(unsigned char)n.p[b]])
					__builtin_trap();
		}
	}
	return 0;
}
