/* StyGig's web page: one garment in (photo, description or catalog piece), an outfit out.
 *
 * Talks only to the server's own API: GET /model, GET /items, GET /items/{id}/thumbnail and
 * POST /invocations. Server data is put on the page with textContent / DOM properties only.
 */
(function () {
  "use strict";

  var IMAGE_TYPES = ["image/jpeg", "image/png", "image/apng", "image/webp", "image/gif", "image/bmp", "image/x-ms-bmp", "image/tiff", "image/avif"];
  var CATALOG_PAGE = 24;
  var MAX_PIECES = 8; // stygig.schema.MAX_PIECES: the pieces one query may hold
  var SEARCH_PAUSE_MS = 250; // the catalog searches once typing pauses this long
  var SOURCE_TEXT = {
    item: "A piece from the catalog",
    hint: "Category as you chose it",
    vote: "Detected from the most similar catalog pieces",
    "zero-shot+vote": "Detected from your words and the most similar catalog pieces",
  };
  var GENDER_TEXT = { female: "women", male: "men", unisex: "anyone" };
  var SCORE_PARTS = [
    ["similarity_score", "Style"],
    ["color_score", "Colour"],
    ["category_score", "Category"],
    ["gender_score", "Fit for wearer"],
    ["boost_score", "Popularity"],
  ];
  /* the shop's attributes the options use, when GET /model lists them with these types */
  var SHOP_ATTRIBUTES = { in_stock: "boolean", price: "number", popularity: "number" };
  var POPULAR_BOOST = 0.2;

  var state = {
    model: null,
    // the query's pieces, worn together (1..MAX_PIECES): {kind: "image"|"text"|"item", file?, text?,
    // itemId?, label, thumb?, category? (the hint, one piece only), locked? (kept from an outfit)}
    pieces: [],
    adding: false, // the next photo, description or catalog piece joins the pieces
    altSeq: 0, // ids for the alternatives' titles
    hintPending: false, // "The piece is" chosen before the first piece: it applies to that piece
    last: null, // the last answer shown, kept while a piece being added fails
    controller: null,
    seq: 0,
    previewUrl: null,
    catalog: { category: "", q: "", gender: "", page: 0, total: 0, loaded: false, controller: null },
  };

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // ---- formatting --------------------------------------------------------------------------
  function maxBytes() {
    var meta = document.querySelector('meta[name="stygig-max-request-bytes"]');
    var n = meta ? parseInt(meta.getAttribute("content"), 10) : NaN;
    return Number.isFinite(n) && n > 0 ? n : 6 * 1024 * 1024;
  }

  function formatBytes(n) {
    if (n >= 1024 * 1024) return (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  /* "1 piece", "2 pieces": the page's copy of stygig.wording.plural. */
  function plural(n, noun, nouns) {
    return n + " " + (n === 1 ? noun : nouns || noun + "s");
  }

  function capitalise(s) {
    s = String(s || "");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function display(category) {
    var names = state.model && state.model.category_display;
    if (names && names[category]) return names[category];
    return String(category || "").replace(/[_-]+/g, " ");
  }

  function percent(x) {
    return Math.round(Math.max(0, Math.min(1, Number(x) || 0)) * 100);
  }

  function safeHex(hex) {
    return /^#[0-9a-fA-F]{6}$/.test(String(hex)) ? hex : null;
  }

  // ---- API ---------------------------------------------------------------------------------
  function ApiError(status, code, message) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function api(path, init) {
    return fetch(path, init).then(
      function (resp) {
        var isJson = (resp.headers.get("content-type") || "").indexOf("application/json") === 0;
        var body = isJson ? resp.json().catch(function () { return null; }) : Promise.resolve(null);
        return body.then(function (data) {
          if (resp.ok && data) return data;
          var err = data && data.error;
          if (err && err.message) throw new ApiError(resp.status, err.code || "error", err.message);
          throw new ApiError(resp.status, "http_" + resp.status, ("The server answered " + resp.status + " " + resp.statusText).trim());
        });
      },
      function (e) {
        if (e && e.name === "AbortError") throw e;
        throw new ApiError(0, "network", "The server could not be reached. Is stygig serve still running?");
      }
    );
  }

  // ---- status and errors -------------------------------------------------------------------
  function setStatus(text) {
    $("status").textContent = text || "";
  }

  function explain(err, query) {
    var m = err.message;
    var file = query && query.kind === "image" ? "“" + query.label + "”" : "That file";
    if (err.code === "invalid_image") return file + " is not a picture StyGig can read: " + m;
    if (err.status === 413) return file + " is too large for the server: " + m;
    if (err.status === 415) return file + " cannot be sent: " + m;
    if (err.code === "unsupported_query") return "Text search is not available here: " + m;
    if (err.status === 503) return "The model is still loading; try again in a moment. (" + m + ")";
    if (err.status === 0) return m;
    if (err.status >= 500) return "Something went wrong on the server (" + err.status + "): " + m;
    return m;
  }

  /* ``keepOutfit``: a piece being added failed; the outfit before it stays on show. */
  function showError(message, keepOutfit) {
    var box = $("error");
    box.textContent = "";
    box.appendChild(el("strong", "error-title", keepOutfit ? "Could not add that piece" : "Could not style that piece"));
    box.appendChild(el("span", "error-message", message));
    box.hidden = false;
    $("result").hidden = !keepOutfit;
    $("empty").hidden = true;
    reveal($("outfit"));
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  // ---- the model ---------------------------------------------------------------------------
  function loadModel(attempt) {
    api("/model").then(
      function (info) {
        state.model = info;
        onModel(info);
      },
      function (err) {
        var wait = Math.min(5000, 500 * Math.pow(2, Math.min(attempt, 4)));
        $("model-info").textContent =
          err.status === 503 ? "Loading the model…" : "Waiting for the server: " + err.message;
        window.setTimeout(function () { loadModel(attempt + 1); }, wait);
      }
    );
  }

  function onModel(info) {
    var enc = info.encoder || {};
    var parts = [plural(info.total_items, "piece"), (enc.kind || "unknown") + " encoder", "model " + String(info.model_version || "").slice(0, 8)];
    $("model-info").textContent = parts.join(" · ");
    showShopOptions(info);

    var cats = Object.keys(info.categories || {});
    var browse = $("catalog-category");
    var hint = $("category-hint");
    cats.forEach(function (c) {
      var n = info.categories[c];
      var o = new Option(capitalise(display(c)) + " (" + n + ")", c);
      o.disabled = !n;
      browse.add(o);
      hint.add(new Option(capitalise(display(c)), c));
    });

    if (!$("panel-catalog").hidden && !state.catalog.loaded) loadCatalog(0);

    var textOk = !!enc.supports_text;
    $("text-input").disabled = !textOk;
    $("text-submit").disabled = !textOk;
    var note = $("text-note");
    if (textOk) {
      note.textContent = "Press Enter to see the outfit.";
      note.classList.remove("hint-warning");
    } else {
      note.textContent =
        "Text search needs an artifact built with a CLIP encoder (stygig build --encoder DIR); this one uses the " +
        (enc.kind || "lite") + " encoder. Try a photo or a catalog piece.";
      note.classList.add("hint-warning");
    }
  }

  // ---- tabs --------------------------------------------------------------------------------
  function tabs() {
    return Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  }

  function selectTab(tab, focus) {
    tabs().forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
  }

  function initTabs() {
    var list = document.querySelector('[role="tablist"]');
    tabs().forEach(function (t) {
      t.addEventListener("click", function () { selectTab(t, false); });
    });
    list.addEventListener("keydown", function (e) {
      var all = tabs();
      var i = all.indexOf(document.activeElement);
      if (i < 0) return;
      var next = null;
      if (e.key === "ArrowRight") next = all[(i + 1) % all.length];
      else if (e.key === "ArrowLeft") next = all[(i - 1 + all.length) % all.length];
      else if (e.key === "Home") next = all[0];
      else if (e.key === "End") next = all[all.length - 1];
      if (next) {
        e.preventDefault();
        selectTab(next, true);
      }
    });
  }

  // ---- inputs ------------------------------------------------------------------------------
  function handleFile(file) {
    if (!file) return;
    var limit = maxBytes();
    if (file.size > limit) {
      abortRun();
      setStatus("");
      var size = formatBytes(file.size);
      showError(
        "“" + file.name + "” is " + (size === formatBytes(limit) ? "just over " + size : size) +
        "; the server accepts pictures up to " + formatBytes(limit) + ". Please choose a smaller picture.",
        !!(state.adding && state.last)
      );
      return;
    }
    ask({ kind: "image", file: file, label: file.name });
  }

  function initPhoto() {
    var input = $("photo-input");
    var zone = $("dropzone");
    $("max-size").textContent = formatBytes(maxBytes());
    $("pick-photo").addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      handleFile(file);
      input.value = "";
    });
    var depth = 0;
    zone.addEventListener("dragenter", function (e) {
      e.preventDefault();
      depth += 1;
      zone.classList.add("is-dragging");
    });
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove("is-dragging");
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      depth = 0;
      zone.classList.remove("is-dragging");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) handleFile(files[0]);
    });
    // a picture dropped beside the zone must not replace the page
    ["dragover", "drop"].forEach(function (type) {
      window.addEventListener(type, function (e) {
        if (!zone.contains(e.target)) e.preventDefault();
      });
    });
    // a picture pasted from the clipboard
    document.addEventListener("paste", function (e) {
      var items = (e.clipboardData && e.clipboardData.files) || [];
      if (items.length && /^image\//.test(items[0].type)) {
        selectTab($("tab-photo"), false);
        handleFile(items[0]);
      }
    });
  }

  function initText() {
    $("text-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var text = $("text-input").value.trim();
      if (!text) {
        setStatus("Type a description first.");
        $("text-input").focus();
        return;
      }
      ask({ kind: "text", text: text, label: text });
    });
  }

  function wearer() {
    var checked = document.querySelector('input[name="gender"]:checked');
    return checked && checked.value ? checked.value : "";
  }

  function options(pieces) {
    var opts = { top_k: parseInt($("top-k").value, 10) || 6 };
    if (wearer()) opts.gender = wearer();
    if (pieces.length === 1 && pieces[0].category) opts.category = pieces[0].category;
    var filters = shopFilters();
    if (filters) opts.filters = filters;
    if (!$("popular-option").hidden && $("popular").checked) opts.boost = { popularity: POPULAR_BOOST };
    return opts;
  }

  /* "In stock only" and the price range, as the server's filters (null: none). A bound left
     empty is open; a bound that is not a number is left out (the note says so). */
  function shopFilters() {
    var f = {};
    if (!$("stock-option").hidden && $("in-stock").checked) f.in_stock = true;
    if (!$("price-option").hidden) {
      var range = {};
      var lo = priceBound("price-min"), hi = priceBound("price-max");
      if (lo !== null) range.gte = lo;
      if (hi !== null) range.lte = hi;
      if (range.gte !== undefined || range.lte !== undefined) f.price = range;
      var note = $("price-note");
      var swapped = lo !== null && hi !== null && lo > hi;
      note.hidden = !swapped;
      note.textContent = swapped ? "The lowest price is above the highest: no piece can match." : "";
    }
    return Object.keys(f).length ? f : null;
  }

  function priceBound(id) {
    var input = $(id);
    if (input.value === "" || !input.checkValidity()) return null;
    var v = parseFloat(input.value);
    return isFinite(v) ? v : null;
  }

  /* The shop's options show only for a catalog that has the attribute, with the type they need. */
  function showShopOptions(info) {
    var types = info.attributes || {};
    var has = function (name) { return types[name] === SHOP_ATTRIBUTES[name]; };
    $("stock-option").hidden = !has("in_stock");
    $("price-option").hidden = !has("price");
    $("popular-option").hidden = !has("popularity");
    $("shop-options").hidden = !(has("in_stock") || has("price") || has("popularity"));
  }

  /* A new piece to style. "The piece is" belongs to one query: chosen while a piece is on show it
     re-styles that piece; chosen before the first piece it applies to that piece; a new piece starts
     from "Detected automatically". A catalog piece's category is known: a hint chosen before it is
     not applied to it. */
  function ask(query) {
    var hint = $("category-hint");
    var adding = state.adding && state.pieces.length > 0 && state.pieces.length < MAX_PIECES;
    if (!adding && state.hintPending && hint.value && query.kind !== "item") query.category = hint.value;
    state.hintPending = false;
    setAdding(false);
    if (adding) {
      state.pieces = state.pieces.concat([query]);
      run({ added: true });
    } else {
      state.pieces = [query];
      run({});
    }
  }

  /* Add the next piece to the outfit (true) or start over with it (false). */
  function setAdding(on) {
    state.adding = !!on;
    $("composer-title").textContent = on ? "Add a piece to the outfit" : "Start from a piece";
    $("cancel-add").hidden = !on;
  }

  /* A piece of the outfit kept as it is: it joins the query's pieces (by id), the rest is
     composed again around it. */
  function lock(rec, name, slot) {
    if (state.pieces.length >= MAX_PIECES) {
      setStatus("An outfit holds up to " + MAX_PIECES + " pieces of your own; remove one first.");
      return;
    }
    var kept = { kind: "item", itemId: rec.item_id, label: name, thumb: rec.thumbnail_url, locked: true, rec: rec, slot: slot };
    state.pieces = state.pieces.concat([kept]);
    run({});
  }

  function removePiece(i) {
    state.pieces = state.pieces.filter(function (_, j) { return j !== i; });
    // with none of the user's own pieces left, the locked ones become theirs
    if (!state.pieces.some(function (q) { return !q.locked; })) {
      state.pieces.forEach(function (q) { q.locked = false; });
    }
    if (state.pieces.length) {
      run({});
      return;
    }
    abortRun();
    state.last = null;
    $("result").hidden = true;
    $("empty").hidden = false;
    setStatus("Your pieces are cleared.");
    markCatalogSelection();
    syncHint();
  }

  /* "The piece is" names one piece's category; several pieces are each recognised on their own. */
  function syncHint() {
    var hint = $("category-hint");
    var one = state.pieces.length <= 1;
    hint.value = one && state.pieces[0] ? state.pieces[0].category || "" : "";
    hint.disabled = !one;
    $("hint-note").hidden = one;
  }

  function initOptions() {
    $("options").addEventListener("submit", function (e) { e.preventDefault(); });
    $("options").addEventListener("change", function (e) {
      if (e.target.id === "category-hint") {
        if (!state.pieces.length) {
          state.hintPending = !!e.target.value;
          return;
        }
        state.pieces[0].category = e.target.value || undefined;
      }
      if (e.target.name === "gender" && state.catalog.loaded) loadCatalog(0);
      if (state.pieces.length) run({});
    });
  }

  // ---- catalog browser ---------------------------------------------------------------------
  /* One page of GET /items at a time (no scroll box inside it): of the chosen category, for the
     wearer "Dress for" names, matching the search by name or id. */
  function loadCatalog(page) {
    var cat = state.catalog;
    var grid = $("catalog-grid");
    if (cat.controller) cat.controller.abort();
    cat.category = $("catalog-category").value;
    cat.q = $("catalog-search").value.trim();
    cat.gender = wearer();
    cat.page = page;
    cat.loaded = true;
    cat.controller = new AbortController();
    var params = new URLSearchParams();
    if (cat.category) params.set("category", cat.category);
    if (cat.gender) params.set("gender", cat.gender);
    if (cat.q) params.set("q", cat.q);
    params.set("offset", String(page * CATALOG_PAGE));
    params.set("limit", String(CATALOG_PAGE));
    grid.setAttribute("aria-busy", "true");
    api("/items?" + params.toString(), { signal: cat.controller.signal }).then(
      function (result) {
        cat.controller = null;
        cat.total = result.total;
        grid.textContent = "";
        result.items.forEach(function (item) { grid.appendChild(catalogItem(item)); });
        grid.removeAttribute("aria-busy");
        markCatalogSelection();
        var pages = Math.max(1, Math.ceil(cat.total / CATALOG_PAGE));
        $("catalog-pager").hidden = pages <= 1;
        $("catalog-page").textContent = "Page " + (page + 1) + " of " + pages;
        $("catalog-prev").disabled = page <= 0;
        $("catalog-next").disabled = page + 1 >= pages;
        $("catalog-hint").textContent = catalogSummary(cat);
      },
      function (err) {
        if (err && err.name === "AbortError") return;
        cat.controller = null;
        grid.removeAttribute("aria-busy");
        $("catalog-hint").textContent = "Could not load the catalog: " + err.message;
      }
    );
  }

  /* "Trousers: 6 pieces for women matching “navy”. Pick one to see what goes with it." */
  function catalogSummary(cat) {
    var text = cat.category ? capitalise(display(cat.category)) + ": " : "";
    text += cat.total ? plural(cat.total, "piece") : cat.category ? "no pieces" : "No pieces";
    if (cat.gender && GENDER_TEXT[cat.gender]) text += " for " + GENDER_TEXT[cat.gender];
    if (cat.q) text += " matching “" + cat.q + "”";
    return text + (cat.total ? ". Pick one to see what goes with it." : ".");
  }

  function catalogItem(item) {
    var li = el("li");
    var btn = el("button", "catalog-item");
    btn.type = "button";
    btn.dataset.itemId = item.item_id;
    btn.dataset.gender = item.gender || "";
    btn.dataset.category = item.category || "";
    btn.setAttribute("aria-pressed", "false");
    var thumb = el("span", "catalog-thumb");
    frame(thumb, item.thumbnail_url, "");
    btn.appendChild(thumb);
    btn.appendChild(el("span", "catalog-name", capitalise(item.name || item.item_id)));
    btn.addEventListener("click", function () {
      ask({ kind: "item", itemId: item.item_id, label: item.name || item.item_id, thumb: item.thumbnail_url });
    });
    li.appendChild(btn);
    return li;
  }

  function markCatalogSelection() {
    var ids = state.pieces.map(function (q) { return q.kind === "item" ? q.itemId : null; });
    Array.prototype.forEach.call(document.querySelectorAll(".catalog-item"), function (b) {
      b.setAttribute("aria-pressed", ids.indexOf(b.dataset.itemId) >= 0 ? "true" : "false");
    });
  }

  function initCatalog() {
    var typing = null;
    $("catalog-form").addEventListener("submit", function (e) {
      e.preventDefault();
      window.clearTimeout(typing);
      loadCatalog(0);
    });
    $("catalog-category").addEventListener("change", function () { loadCatalog(0); });
    $("catalog-search").addEventListener("input", function () {
      window.clearTimeout(typing);
      typing = window.setTimeout(function () { loadCatalog(0); }, SEARCH_PAUSE_MS);
    });
    $("catalog-prev").addEventListener("click", function () { turnCatalogPage(-1); });
    $("catalog-next").addEventListener("click", function () { turnCatalogPage(1); });
    $("tab-catalog").addEventListener("click", function () {
      if (!state.catalog.loaded && state.model) loadCatalog(0);
    });
  }

  function turnCatalogPage(step) {
    loadCatalog(Math.max(0, state.catalog.page + step));
  }

  // ---- asking for an outfit ----------------------------------------------------------------
  function abortRun() {
    if (state.controller) state.controller.abort();
    state.controller = null;
    $("outfit").removeAttribute("aria-busy");
  }

  /* The request for the pieces: one piece as before (a photo as the raw body, options in the query
     string; a text or item as JSON), several as JSON "items" (photos in base64). */
  function request(pieces, opts) {
    if (pieces.length === 1) {
      var query = pieces[0];
      if (query.kind === "image") {
        var params = queryParams(opts);
        var type = IMAGE_TYPES.indexOf(query.file.type) >= 0 ? query.file.type : "application/x-image";
        return Promise.resolve({ url: "/invocations?" + params.toString(), body: query.file, type: type, size: query.file.size });
      }
      var single = query.kind === "text" ? { text: query.text } : { item_id: query.itemId };
      Object.keys(opts).forEach(function (k) { single[k] = opts[k]; });
      var one = JSON.stringify(single);
      return Promise.resolve({ url: "/invocations", body: one, type: "application/json", size: one.length });
    }
    return Promise.all(pieces.map(pieceJson)).then(function (items) {
      var payload = { items: items };
      Object.keys(opts).forEach(function (k) { payload[k] = opts[k]; });
      var body = JSON.stringify(payload);
      return { url: "/invocations", body: body, type: "application/json", size: body.length };
    });
  }

  /* The options of a picture query, as the query string spells them: filters as text expressions
     (filter=in_stock=true&filter=price<=80, ANDed), a boost as boost=popularity:0.2. */
  function queryParams(opts) {
    var params = new URLSearchParams();
    Object.keys(opts).forEach(function (k) {
      var v = opts[k];
      if (k === "filters") {
        Object.keys(v).forEach(function (name) {
          var c = v[name];
          if (typeof c !== "object") params.append("filter", name + "=" + String(c));
          else {
            if (c.gte !== undefined) params.append("filter", name + ">=" + c.gte);
            if (c.lte !== undefined) params.append("filter", name + "<=" + c.lte);
          }
        });
      } else if (k === "boost") {
        Object.keys(v).forEach(function (name) { params.append("boost", name + ":" + v[name]); });
      } else {
        params.set(k, String(v));
      }
    });
    return params;
  }

  function pieceJson(query) {
    if (query.kind === "text") return Promise.resolve({ text: query.text });
    if (query.kind === "item") return Promise.resolve({ item_id: query.itemId });
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve({ image: String(reader.result).replace(/^data:[^,]*,/, "") }); };
      reader.onerror = function () { reject(new ApiError(0, "unreadable", "“" + query.label + "” could not be read.")); };
      reader.readAsDataURL(query.file);
    });
  }

  function described(pieces) {
    var last = pieces[pieces.length - 1];
    var name = last.kind === "text" ? "“" + last.label + "”" : last.label;
    return pieces.length === 1 ? name : name + " with " + plural(pieces.length - 1, "other piece");
  }

  /* Ask for an outfit around state.pieces. ``how.added``: the newest piece was just added, so a
     failure takes it back out and keeps the outfit on show. */
  function run(how) {
    abortRun();
    var pieces = state.pieces.slice();
    markCatalogSelection();
    syncHint();
    var seq = ++state.seq;
    var controller = new AbortController();
    state.controller = controller;
    clearError();
    $("outfit").setAttribute("aria-busy", "true");
    $("result").classList.add("is-loading");
    setStatus("Styling " + described(pieces) + "…");
    function done() {
      state.controller = null;
      $("outfit").removeAttribute("aria-busy");
      $("result").classList.remove("is-loading");
    }
    request(pieces, options(pieces)).then(function (req) {
      if (seq !== state.seq) return null;
      if (pieces.length > 1 && req.size > maxBytes()) {
        throw new ApiError(413, "too_large", "the pieces come to " + formatBytes(req.size) + " together; the server accepts up to " +
          formatBytes(maxBytes()) + ". Remove a photo or choose a smaller one.");
      }
      return api(req.url, {
        method: "POST",
        headers: { "Content-Type": req.type, Accept: "application/json" },
        body: req.body,
        signal: controller.signal,
      });
    }).then(
      function (outfit) {
        if (seq !== state.seq || !outfit) return;
        done();
        state.last = outfit;
        render(pieces, outfit);
      },
      function (err) {
        if (seq !== state.seq || (err && err.name === "AbortError")) return;
        done();
        setStatus("");
        var culprit = pieces[pieces.length - 1];
        if (how.added && state.last) {
          state.pieces = pieces.slice(0, -1);
          markCatalogSelection();
          syncHint();
          showError(explain(err, culprit), true);
        } else {
          showError(explain(err, culprit), false);
        }
      }
    );
  }

  // ---- rendering ---------------------------------------------------------------------------
  /* One chip per colour name (two dominant greys are one "grey"), the heavier one's colour:
     the same rule as stygig.report.colour_chips for the CLI and outfit.png. */
  function colourChips(colours, max) {
    var seen = {};
    return (colours || []).filter(function (c) {
      var key = c.name || c.hex;
      if (seen[key]) return false;
      seen[key] = true;
      return true;
    }).slice(0, max);
  }

  function swatches(list, colours, max) {
    list.textContent = "";
    colourChips(colours, max).forEach(function (c) {
      var li = el("li", "swatch");
      var dot = el("span", "swatch-dot");
      var hex = safeHex(c.hex);
      if (hex) dot.style.backgroundColor = hex;
      dot.setAttribute("aria-hidden", "true");
      li.appendChild(dot);
      li.appendChild(el("span", "swatch-name", c.name || c.hex));
      li.title = (c.name ? c.name + " " : "") + (c.hex || "");
      list.appendChild(li);
    });
    list.hidden = !list.children.length;
  }

  /* The average colour along the sides of a picture that a square frame leaves bare (top and
   * bottom rows of a wide picture, left and right columns of a tall one), or null. */
  function edgeColour(img) {
    try {
      var n = 32;
      var wide = img.naturalWidth >= img.naturalHeight;
      var canvas = document.createElement("canvas");
      canvas.width = canvas.height = n;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0, n, n);
      var d = ctx.getImageData(0, 0, n, n).data;
      var sum = [0, 0, 0];
      var count = 0;
      for (var k = 0; k < n; k++) {
        [0, n - 1].forEach(function (edge) {
          var x = wide ? k : edge;
          var y = wide ? edge : k;
          var i = (y * n + x) * 4;
          sum[0] += d[i];
          sum[1] += d[i + 1];
          sum[2] += d[i + 2];
          count += 1;
        });
      }
      return "rgb(" + sum.map(function (v) { return Math.round(v / count); }).join(", ") + ")";
    } catch (e) {
      return null;
    }
  }

  /* A picture in a square frame: the photo whole (contain) on its own backdrop colour, so
   * pictures of any shape look intended. */
  function frame(box, src, alt) {
    var img = el("img", "photo");
    img.alt = alt;
    img.decoding = "async";
    img.addEventListener("load", function () {
      var colour = edgeColour(img);
      if (colour) box.style.backgroundColor = colour;
    });
    img.addEventListener("error", function () { box.classList.add("is-missing"); });
    img.src = src;
    box.appendChild(img);
  }

  function renderQuery(query, item) {
    var media = $("query-media");
    media.textContent = "";
    media.style.backgroundColor = "";
    media.classList.remove("is-missing", "is-text");
    if (state.previewUrl) {
      URL.revokeObjectURL(state.previewUrl);
      state.previewUrl = null;
    }
    var cat = capitalise(display(item.category));
    if (query.kind === "image") {
      state.previewUrl = URL.createObjectURL(query.file);
      frame(media, state.previewUrl, "Your photo: " + query.label);
    } else if (query.kind === "item") {
      frame(media, query.thumb || "/items/" + encodeURIComponent(query.itemId) + "/thumbnail", capitalise(query.label));
    } else {
      media.classList.add("is-text");
      media.appendChild(el("blockquote", "query-quote", "“" + query.text + "”"));
    }
    $("query-title").textContent = query.kind === "item" ? capitalise(query.label) : cat;
    var how = SOURCE_TEXT[item.category_source] || "Detected";
    if (item.category_source === "vote" || item.category_source === "zero-shot+vote") {
      how += " · " + percent(item.category_confidence) + "% confidence";
    }
    if (item.gender && GENDER_TEXT[item.gender]) how += " · for " + GENDER_TEXT[item.gender];
    var src = $("query-source");
    src.textContent = "";
    var pill = el("span", "query-category", cat);
    pill.hidden = query.kind !== "item";
    src.appendChild(pill);
    src.appendChild(el("span", "query-how", how));
    var card = $("query-card");
    card.dataset.category = item.category || "";
    card.dataset.source = item.category_source || "";
    swatches($("query-colours"), item.colors, 5);
  }

  /* A piece of the outfit. ``locked``: its place in state.pieces when the user keeps it. */
  function card(rec, slot, rank, locked) {
    var li = el("li", "card");
    li.dataset.itemId = rec.item_id;
    if (slot) li.dataset.slot = slot;
    if (locked !== undefined) li.dataset.locked = "true";
    li.dataset.category = rec.category || "";
    li.dataset.gender = rec.gender || "";
    var fig = el("figure", "card-media");
    var name = rec.name || display(rec.category);
    frame(fig, rec.thumbnail_url || "/items/" + encodeURIComponent(rec.item_id) + "/thumbnail", capitalise(name));
    var badge = el("span", "card-rank", rank);
    badge.setAttribute("aria-hidden", "true");
    fig.appendChild(badge);
    li.appendChild(fig);

    var body = el("div", "card-body");
    var what = capitalise(display(rec.category));
    var eyebrow = slot ? capitalise(slotName(slot)) + " · " + what : what;
    body.appendChild(el("p", "card-category", locked !== undefined ? eyebrow + " · locked" : eyebrow));
    body.appendChild(el("h4", "card-name", capitalise(name)));

    var score = el("div", "card-score");
    var pct = percent(rec.score);
    score.appendChild(el("span", "card-score-value", pct + "%"));
    score.appendChild(el("span", "card-score-label", "match"));
    var bar = el("span", "score-bar");
    bar.setAttribute("aria-hidden", "true");
    var fill = el("span", "score-fill");
    fill.style.width = pct + "%";
    bar.appendChild(fill);
    score.appendChild(bar);
    body.appendChild(score);

    var sw = el("ul", "swatches");
    sw.setAttribute("aria-label", "Colours");
    swatches(sw, rec.colors, 3);
    body.appendChild(sw);

    if (rec.reason) body.appendChild(el("p", "card-reason", rec.reason));

    var details = el("details", "card-details");
    details.appendChild(el("summary", null, "Score breakdown"));
    var dl = el("dl", "breakdown");
    SCORE_PARTS.forEach(function (p) {
      if (rec[p[0]] === undefined) return;
      dl.appendChild(el("dt", null, p[1]));
      dl.appendChild(el("dd", null, percent(rec[p[0]]) + "%"));
    });
    details.appendChild(dl);
    body.appendChild(details);

    /* the accessible name begins with the words on the button ("Style this piece, navy nylon
       jacket"), so speech users can say what they see (WCAG 2.5.3) */
    var again = el("button", "button button-quiet card-action", "Style this piece");
    again.type = "button";
    again.setAttribute("aria-label", "Style this piece, " + name);
    again.addEventListener("click", function () {
      ask({ kind: "item", itemId: rec.item_id, label: name, thumb: rec.thumbnail_url });
    });
    // a toggle: pressed while the piece is kept
    var keep = el("button", "button button-quiet card-lock", "Lock");
    keep.type = "button";
    keep.setAttribute("aria-label", "Lock, " + name);
    keep.setAttribute("aria-pressed", locked !== undefined ? "true" : "false");
    keep.addEventListener("click", function () {
      if (locked !== undefined) removePiece(locked);
      else lock(rec, name, slot);
    });
    var actions = el("div", "card-actions");
    actions.appendChild(keep);
    actions.appendChild(again);
    body.appendChild(actions);
    var alts = locked !== undefined ? [] : rec.alternatives || [];
    if (alts.length) body.appendChild(alternatives(alts, slot));
    li.appendChild(body);
    return li;
  }

  /* The other candidates for a slot: choosing one keeps it (locked) and composes the rest again. */
  function alternatives(alts, slot) {
    var box = el("div", "alternatives");
    var title = el("p", "alternatives-title", "Or swap for");
    title.id = "alts-" + (++state.altSeq);
    box.appendChild(title);
    var list = el("ul", "alternatives-list");
    list.setAttribute("aria-labelledby", title.id);
    alts.forEach(function (alt) {
      var name = alt.name || display(alt.category);
      var li = el("li");
      var btn = el("button", "alternative");
      btn.type = "button";
      btn.dataset.itemId = alt.item_id;
      var thumb = el("span", "alternative-thumb");
      frame(thumb, alt.thumbnail_url || "/items/" + encodeURIComponent(alt.item_id) + "/thumbnail", "");
      btn.appendChild(thumb);
      btn.appendChild(el("span", "alternative-name", "Swap for " + name));
      btn.setAttribute("aria-label", "Swap for " + name);
      btn.addEventListener("click", function () { lock(alt, name, slot); });
      li.appendChild(btn);
      list.appendChild(li);
    });
    box.appendChild(list);
    return box;
  }

  function slotName(slot) {
    return String(slot || "").replace(/[_-]+/g, " ");
  }

  /* The query's pieces after the first: each with what it was recognised as, and a way out. */
  /* The user's own pieces (not the locked ones, which stay in the outfit), when there are several. */
  function renderPieces(pieces, items) {
    var list = $("pieces");
    list.textContent = "";
    var own = 0;
    pieces.forEach(function (q, i) {
      if (q.locked) return;
      own += 1;
      var item = items[i] || {};
      var li = el("li", "piece");
      li.dataset.kind = q.kind;
      li.dataset.category = item.category || "";
      if (q.kind === "item") li.dataset.itemId = q.itemId;
      var media = el("span", "piece-thumb");
      if (q.kind === "image") frame(media, pieceUrl(q), "");
      else if (q.kind === "item") frame(media, q.thumb || "/items/" + encodeURIComponent(q.itemId) + "/thumbnail", "");
      else media.appendChild(el("span", "piece-quote", "“" + q.text + "”"));
      media.setAttribute("aria-hidden", "true");
      li.appendChild(media);
      var text = el("span", "piece-text");
      var label = q.kind === "text" ? "“" + q.text + "”" : q.kind === "image" ? "Your photo " + q.label : capitalise(q.label);
      text.appendChild(el("span", "piece-name", label));
      text.appendChild(el("span", "piece-how", capitalise(display(item.category))));
      li.appendChild(text);
      var out = el("button", "button button-quiet piece-remove", "Remove");
      out.type = "button";
      out.setAttribute("aria-label", "Remove, " + label);
      out.addEventListener("click", function () { removePiece(i); });
      li.appendChild(out);
      list.appendChild(li);
    });
    $("pieces-title").textContent = "Your pieces (" + own + ")";
    $("pieces-box").hidden = own < 2;
    return own;
  }

  function pieceUrl(q) {
    if (!q.url) q.url = URL.createObjectURL(q.file);
    return q.url;
  }

  function render(pieces, outfit) {
    var outfitBox = $("outfit");
    // a keyboard user who asked from inside the outfit ("Style this piece", "Lock") keeps their place
    var focusWasInside = outfitBox.contains(document.activeElement) && document.activeElement !== outfitBox;
    var items = outfit.query_items || [outfit.query_item || {}];
    var lead = 0;
    while (lead < pieces.length - 1 && pieces[lead].locked) lead += 1;
    var item = items[lead] || {};
    var composed = outfit.outfit && outfit.outfit.pieces;
    var shown = composed ? composed : outfit.recommendations || [];
    renderQuery(pieces[lead], item);
    var own = renderPieces(pieces, items);
    var list = $("recs");
    list.textContent = "";
    var rank = 0;
    // the outfit: the pieces the user locked (where they were), then the ones composed around them
    pieces.forEach(function (q, i) {
      if (q.locked) list.appendChild(card(q.rec, q.slot, ++rank, i));
    });
    shown.forEach(function (rec) { list.appendChild(card(rec, composed ? rec.slot : null, ++rank)); });
    var locked = rank - shown.length;
    $("no-recs").hidden = shown.length > 0;
    var meta = outfit.metadata || {};
    $("result-meta").textContent =
      plural(shown.length, "piece") +
      (composed && outfit.outfit.coherence !== undefined ? " · " + percent(outfit.outfit.coherence) + "% coherent" : "") +
      (meta.processing_time_ms !== undefined ? " · " + Math.round(meta.processing_time_ms) + " ms" : "");
    $("add-piece").hidden = pieces.length >= MAX_PIECES;
    $("empty").hidden = true;
    $("result").hidden = false;
    var yours = own === 1 ? "your " + display(item.category) : plural(own, "piece") + " of yours";
    if (locked) yours += " and " + plural(locked, "locked piece");
    setStatus(
      shown.length
        ? "Outfit ready: " + plural(shown.length, "piece") + " to go with " + yours + "."
        : "No pieces match these filters for " + yours + "."
    );
    $("query-card").hidden = own > 1;
    if (focusWasInside) $(own > 1 ? "pieces-box" : "query-card").focus();
    reveal(outfitBox);
  }

  /* On one-column screens the outfit (or the error) is below the inputs: bring it into view. */
  function reveal(box) {
    if (window.matchMedia("(max-width: 880px)").matches && box.getBoundingClientRect().top > window.innerHeight * 0.6) {
      var smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      box.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
    }
  }

  // ---- start -------------------------------------------------------------------------------
  function initAdding() {
    $("add-piece").addEventListener("click", function () {
      setAdding(true);
      setStatus("Add a photo, a description or a catalog piece to the outfit.");
      var tab = document.querySelector('[role="tab"][aria-selected="true"]');
      if (tab) tab.focus();
      reveal($("composer-title"));
    });
    $("cancel-add").addEventListener("click", function () {
      setAdding(false);
      setStatus("");
      $("add-piece").focus();
    });
  }

  function init() {
    initTabs();
    initAdding();
    initPhoto();
    initText();
    initOptions();
    initCatalog();
    loadModel(0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
