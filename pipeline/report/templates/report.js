(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const cols = data.columns;
  const at = Object.fromEntries(cols.map((c, i) => [c, i]));
  const rows = data.rows;
  const rules = data.rules;
  const PAGE = 250;
  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector("#ft tbody");
  const filters = {
    q: $("f-q"), rule: $("f-rule"), sev: $("f-sev"), code: $("f-code"),
    payer: $("f-payer"), status: $("f-status"),
  };
  let sortKey = null, sortDir = 1, page = 0, view = rows;

  function text(v) { return v == null ? "" : String(v); }

  function td(tr, value, cls) {
    const cell = document.createElement("td");
    cell.textContent = text(value);
    if (cls) cell.className = cls;
    tr.appendChild(cell);
    return cell;
  }

  function matches(r, f) {
    if (f.rule && r[at.rule_code] !== f.rule) return false;
    if (f.sev && r[at.severity] !== f.sev) return false;
    if (f.code && r[at.hcpcs_code] !== f.code) return false;
    if (f.payer && r[at.payer_type] !== f.payer) return false;
    if (f.status && at.status !== undefined && r[at.status] !== f.status) return false;
    if (f.q && !r.some((v) => text(v).toLowerCase().includes(f.q))) return false;
    return true;
  }

  function compare(a, b) {
    const x = a[at[sortKey]], y = b[at[sortKey]];
    if (x == null && y == null) return 0;
    if (x == null) return 1;
    if (y == null) return -1;
    if (typeof x === "number" && typeof y === "number") return (x - y) * sortDir;
    return String(x).localeCompare(String(y), "en", { numeric: true }) * sortDir;
  }

  function refresh() {
    const f = {
      q: filters.q.value.trim().toLowerCase(), rule: filters.rule.value, sev: filters.sev.value,
      code: filters.code.value, payer: filters.payer.value,
      status: filters.status ? filters.status.value : "",
    };
    view = rows.filter((r) => matches(r, f));
    if (sortKey) view = view.slice().sort(compare);
    page = 0;
    draw();
  }

  function draw() {
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    page = Math.min(page, pages - 1);
    const frag = document.createDocumentFragment();
    for (const r of view.slice(page * PAGE, (page + 1) * PAGE)) {
      const tr = document.createElement("tr");
      for (const c of cols) {
        const v = r[at[c]];
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
    $("f-count").textContent = view.length.toLocaleString("en-US") + " of " +
      rows.length.toLocaleString("en-US") + " rows match";
    $("pg-info").textContent = "page " + (page + 1) + " of " + pages;
    $("pg-prev").disabled = page === 0;
    $("pg-next").disabled = page >= pages - 1;
  }

  function explain(code) {
    const r = rules[code];
    if (!r) return;
    $("x-title").textContent = code + " " + r.name;
    $("x-meta").textContent = r.category + " \u00b7 " + r.severity + " \u00b7 " +
      r.count.toLocaleString("en-US") + " finding(s) in this run";
    const body = $("x-body");
    body.replaceChildren();
    for (const [head, para] of r.explanation) {
      const h = document.createElement("h4");
      h.textContent = head;
      const p = document.createElement("p");
      p.textContent = para;
      body.append(h, p);
    }
    for (const [head, para] of [["Remittance codes", r.remittance], ["Source", r.citation]]) {
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
  Object.values(filters).forEach((el) => el && el.addEventListener("input", refresh));
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
