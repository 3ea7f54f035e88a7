/* Search of the readers' e-edition (gp-print).  The index (search-index.json) is written at
   publish time: docs, and for every word the stories holding it with a weight.  A story is a
   result when it holds every word of the query (a word matches the words it begins, from three
   letters on).  Words are split exactly as gp_print.site.tokens splits them. */
(function () {
  "use strict";
  const form = document.getElementById("search-form");
  const input = document.getElementById("q");
  const list = document.getElementById("results");
  const status = document.getElementById("search-status");
  if (!form || !list) return;
  const indexUrl = new URL(list.dataset.index, location.href);
  const archive = list.dataset.scope === "archive";
  const LIMIT = 100;
  let index = null;

  function tokens(text) {
    const folded = text.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase();
    return (folded.match(/[\p{L}\p{N}]+/gu) || []).filter((t) => t.length > 1 || /\p{N}/u.test(t));
  }

  function load() {
    if (!index) {
      index = fetch(indexUrl).then(function (response) {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.json();
      });
    }
    return index;
  }

  function matches(data, token) {
    const found = new Map();
    const add = function (postings) {
      for (let i = 0; i < postings.length; i += 2) {
        found.set(postings[i], (found.get(postings[i]) || 0) + postings[i + 1]);
      }
    };
    if (token.length < 3) {
      if (data.terms[token]) add(data.terms[token]);
    } else {
      for (const term in data.terms) {
        if (term.startsWith(token)) add(data.terms[term]);
      }
    }
    return found;
  }

  function search(data, query) {
    const words = Array.from(new Set(tokens(query)));
    if (!words.length) return [];
    let scores = null;
    for (const word of words) {
      const found = matches(data, word);
      if (scores === null) {
        scores = found;
      } else {
        const next = new Map();
        scores.forEach(function (score, doc) {
          if (found.has(doc)) next.set(doc, score + found.get(doc));
        });
        scores = next;
      }
      if (!scores.size) break;
    }
    return Array.from(scores.entries())
      .sort((a, b) => b[1] - a[1] || data.docs[a[0]].p - data.docs[b[0]].p)
      .map((entry) => data.docs[entry[0]]);
  }

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (attrs) Object.keys(attrs).forEach((k) => node.setAttribute(k, attrs[k]));
    return node;
  }

  function show(query, docs) {
    list.replaceChildren();
    status.textContent = docs.length
      ? docs.length + (docs.length === 1 ? " story holds " : " stories hold ") + "“" + query + "”"
        + (docs.length > LIMIT ? " (the first " + LIMIT + " are shown)" : "") + "."
      : "No story holds “" + query + "”.";
    docs.slice(0, LIMIT).forEach(function (doc) {
      const item = el("li");
      const heading = el("h2");
      heading.appendChild(el("a", doc.h, { href: new URL(doc.u, indexUrl).href }));
      item.appendChild(heading);
      const meta = el("p", "", { class: "meta" });
      meta.append((archive ? doc.d + " · " : "") + (doc.sec ? doc.sec + " · " : ""));
      meta.appendChild(el("a", "page " + doc.p, { href: new URL(doc.v, indexUrl).href }));
      item.appendChild(meta);
      if (doc.s) item.appendChild(el("p", doc.s));
      list.appendChild(item);
    });
  }

  function run(query, push) {
    query = query.trim();
    if (push) {
      const url = new URL(location.href);
      if (query) url.searchParams.set("q", query);
      else url.searchParams.delete("q");
      history.replaceState(null, "", url);
    }
    if (!query) {
      list.replaceChildren();
      status.textContent = "";
      return;
    }
    status.textContent = "Searching…";
    load().then(function (data) { show(query, search(data, query)); }, function (error) {
      status.textContent = "The search index could not be loaded (" + error.message + ").";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run(input.value, true);
  });
  const initial = new URL(location.href).searchParams.get("q") || "";
  input.value = initial;
  if (initial) run(initial, false);
  list.dataset.ready = "1";
})();
