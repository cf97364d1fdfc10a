(function () {
  "use strict";
  // The findings travel column-oriented: {dict, codes} for repeated text (codes index the
  // dict, -1 is empty), {values, scale} for numbers (value / scale) or plain text. A row is
  // its index; filters and sorts work on the codes, pages draw 250 rows at a time.
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const meta = data.meta;
  const cols = meta.columns;
  const table = data.table;
  const rules = meta.rules;
  const capped = meta.capped;
  const n = meta.n;
  const PAGE = 250;
  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const collate = new Intl.Collator("en", { numeric: true }).compare;
  const count = (v) => v.toLocaleString("en-US");
  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector("#ft tbody");
  const filters = {
    q: $("f-q"), rule: $("f-rule"), sev: $("f-sev"), code: $("f-code"),
    payer: $("f-payer"), status: $("f-status"),
  };
  const all = Array.from({ length: n }, (_, i) => i);
  let sortKey = null, sortDir = 1, page = 0, view = all, timer = null;

  function value(c, i) {
    const s = table[c];
    if (s.dict) {
      const k = s.codes[i];
      return k < 0 ? null : s.dict[k];
    }
    const v = s.values[i];
    return v == null || !s.scale ? v : v / s.scale;
  }

  function text(v) { return v == null ? "" : String(v); }

  function td(tr, v, cls) {
    const cell = document.createElement("td");
    cell.textContent = text(v);
    if (cls) cell.className = cls;
    tr.appendChild(cell);
    return cell;
  }

  // a test (row index -> bool) that the column equals `wanted`
  function equals(c, wanted) {
    const s = table[c];
    if (!s) return () => true;
    if (s.dict) {
      const k = s.dict.indexOf(wanted);
      return (i) => s.codes[i] === k;
    }
    return (i) => text(s.values[i]) === wanted;
  }

  // a test that some column's text holds `q` (each distinct text is looked at once)
  function search(q) {
    const tests = cols.map((c) => {
      const s = table[c];
      if (s.dict) {
        const hit = s.dict.map((v) => v.toLowerCase().includes(q));
        return (i) => s.codes[i] >= 0 && hit[s.codes[i]];
      }
      return (i) => text(value(c, i)).toLowerCase().includes(q);
    });
    return (i) => tests.some((t) => t(i));
  }

  // a sort key per row: the rank of its text among the column's distinct texts, or its number
  function sortKeys(c) {
    const s = table[c];
    if (s.dict) {
      const order = s.dict.map((_, k) => k).sort((a, b) => collate(s.dict[a], s.dict[b]));
      const rank = new Int32Array(s.dict.length);
      order.forEach((k, r) => { rank[k] = r; });
      return (i) => (s.codes[i] < 0 ? null : rank[s.codes[i]]);
    }
    return (i) => s.values[i];
  }

  function compare(key) {
    return (a, b) => {
      const x = key(a), y = key(b);
      if (x == null && y == null) return a - b;
      if (x == null) return 1;
      if (y == null) return -1;
      const d = typeof x === "number" && typeof y === "number" ? x - y : collate(x, y);
      return d * sortDir || a - b;
    };
  }

  function refresh() {
    const tests = [];
    const rule = filters.rule.value;
    if (rule) tests.push(equals("rule_code", rule));
    if (filters.sev.value) tests.push(equals("severity", filters.sev.value));
    if (filters.code.value) tests.push(equals("hcpcs_code", filters.code.value));
    if (filters.payer.value) tests.push(equals("payer_type", filters.payer.value));
    if (filters.status && filters.status.value) tests.push(equals("status", filters.status.value));
    const q = filters.q.value.trim().toLowerCase();
    if (q) tests.push(search(q));
    view = tests.length ? all.filter((i) => tests.every((t) => t(i))) : all;
    if (sortKey) view = view.slice().sort(compare(sortKeys(sortKey)));
    let note = count(view.length) + " of " + count(n) + " rows match";
    if (n < meta.total) note += " (the table holds " + count(n) + " of " + count(meta.total) + " findings)";
    if (rule && capped[rule]) {
      const c = capped[rule];
      note += "; " + count(c.more) + " more findings of " + rule + " are in findings.csv";
    }
    $("f-count").textContent = note;
    page = 0;
    draw();
  }

  function draw() {
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    page = Math.min(page, pages - 1);
    const frag = document.createDocumentFragment();
    for (const i of view.slice(page * PAGE, (page + 1) * PAGE)) {
      const tr = document.createElement("tr");
      for (const c of cols) {
        const v = value(c, i);
        if (c === "rule_code") {
          const cell = td(tr, v, "rule-link");
          cell.dataset.rule = text(v);
          cell.title = "explain " + text(v);
        } else if (c === "impact_usd") {
          td(tr, v == null ? "" : usd.format(v), "num" + (v < 0 ? " neg" : v > 0 ? " pos" : ""));
        } else if (c === "line_number") {
          td(tr, v, "num");
        } else if (c === "severity" || c === "status") {
          td(tr, v, "tag " + text(v));
        } else {
          td(tr, v);
        }
      }
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
    $("pg-info").textContent = "page " + (page + 1) + " of " + count(pages);
    $("pg-prev").disabled = page === 0;
    $("pg-next").disabled = page >= pages - 1;
  }

  function explain(code) {
    const r = rules[code];
    if (!r) return;
    $("x-title").textContent = code + " " + r.name;
    $("x-meta").textContent = r.category + " \u00b7 " + r.severity + " \u00b7 " +
      count(r.count) + " finding(s) in this run";
    const body = $("x-body");
    body.replaceChildren();
    const parts = [...r.explanation, ["Remittance codes", r.remittance], ["Source", r.citation]];
    for (const [head, para] of parts) {
      const h = document.createElement("h4");
      h.textContent = head;
      const p = document.createElement("p");
      p.textContent = para;
      body.append(h, p);
    }
    const dialog = $("explain");
    if (!dialog.open) dialog.showModal();
  }

  document.querySelectorAll("#ft th[data-k]").forEach((th) =>
    th.addEventListener("click", () => {
      const k = th.dataset.k;
      sortDir = sortKey === k ? -sortDir : (k === "impact_usd" ? -1 : 1);
      sortKey = k;
      document.querySelectorAll("#ft th[data-k]").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      refresh();
    }));
  Object.entries(filters).forEach(([name, el]) => {
    if (!el) return;
    if (name === "q" && n > 20000) {  // a large table: search once typing pauses
      el.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 150); });
    } else {
      el.addEventListener("input", refresh);
    }
  });
  $("f-clear").addEventListener("click", () => {
    Object.values(filters).forEach((el) => { if (el) el.value = ""; });
    refresh();
  });
  $("pg-prev").addEventListener("click", () => { page -= 1; draw(); });
  $("pg-next").addEventListener("click", () => { page += 1; draw(); });
  document.body.addEventListener("click", (e) => {
    const t = e.target.closest("[data-rule]");
    if (t) explain(t.dataset.rule);
    const s = e.target.closest("[data-show-status]");
    if (s && filters.status) {
      filters.status.value = s.dataset.showStatus;
      refresh();
      $("findings").scrollIntoView();
    }
  });
  $("x-close").addEventListener("click", () => $("explain").close());
  refresh();
})();
