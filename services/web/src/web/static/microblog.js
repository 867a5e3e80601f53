// Microblog's page script: time zone cookie, avatar fallback, user popups, translations,
// and live notifications (unread badge, export progress). No inline scripts: CSP script-src 'self'.
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf;

  // --- time zone: the server renders dates in the zone of the `tz` cookie ---------------------
  function rememberTimeZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) { return; }
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    var reloadedFor = sessionStorage.getItem("microblog-tz-reload");
    // Reload (once) only a page that shows dates and was fetched with GET: forms and POST results stay put.
    var showsDates = document.querySelector("time, .last-seen") !== null;
    if (body.dataset.timezone !== zone && reloadedFor !== zone && showsDates && body.dataset.method === "GET") {
      sessionStorage.setItem("microblog-tz-reload", zone);  // once: an unknown zone falls back to UTC
      window.location.reload();
    }
  }

  // --- avatars: Gravatar is unreachable offline; our own identicon replaces it ----------------
  function useFallback(img) {
    if (img.dataset.fallback && img.getAttribute("src") !== img.dataset.fallback) {
      img.src = img.dataset.fallback;
    }
  }
  function watchAvatars(root) {
    root.querySelectorAll("img.avatar[data-fallback]").forEach(function (img) {
      img.addEventListener("error", function () { useFallback(img); });
      if (img.complete && img.naturalWidth === 0) { useFallback(img); }
    });
  }

  // --- user popups: hover a username for a second ------------------------------------------
  var popupCache = {};
  function setUpPopup(link) {
    var timer = null, popover = null, closing = null;
    function open() {
      var name = link.dataset.username;
      var shown = function (html) {
        if (!link.matches(":hover")) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        watchAvatars(holder);
        popover = bootstrap.Popover.getOrCreateInstance(link, {
          trigger: "manual", html: true, sanitize: false, placement: "top", content: holder.firstElementChild || holder
        });
        popover.show();
        var tip = document.querySelector(".popover");
        if (tip) {
          tip.addEventListener("mouseenter", function () { clearTimeout(closing); });
          tip.addEventListener("mouseleave", scheduleClose);
        }
      };
      if (popupCache[name]) { shown(popupCache[name]); return; }
      fetch("/user/" + encodeURIComponent(name) + "/popup", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { popupCache[name] = html; shown(html); })
        .catch(function () {});
    }
    function scheduleClose() {
      clearTimeout(closing);
      closing = setTimeout(function () { if (popover) { popover.hide(); } }, 300);
    }
    link.addEventListener("mouseenter", function () {
      clearTimeout(closing);
      timer = setTimeout(open, 1000);
    });
    link.addEventListener("mouseleave", function () { clearTimeout(timer); scheduleClose(); });
  }

  // --- translations: swap the link for the text, in place ---------------------------------
  function translate(event) {
    event.preventDefault();
    var link = event.currentTarget;
    var id = link.dataset.postId;
    var holder = document.getElementById("translation-" + id);
    var text = document.getElementById("post-" + id + "-body").textContent;
    holder.textContent = body.dataset.translating;
    fetch("/translate", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({text: text, source_language: link.dataset.source, dest_language: link.dataset.dest})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (answer) {
        holder.textContent = r.ok ? answer.text : (answer.message || body.dataset.translationError);
        if (!r.ok) { holder.classList.add("text-danger"); }
      });
    }).catch(function () {
      holder.textContent = body.dataset.translationError;
      holder.classList.add("text-danger");
    });
  }

  // --- notifications: the unread badge and export progress, polled ------------------------
  var since = parseFloat(body.dataset.since || "0") || 0;
  function setBadge(count) {
    var badge = document.getElementById("message-count");
    if (!badge) { return; }
    badge.textContent = count;
    badge.classList.toggle("d-none", !count);
  }
  function setTaskProgress(task) {
    var progress = document.getElementById("task-" + task.task_id + "-progress");
    if (!progress) {
      if (task.progress >= 100 && task.task_id !== body.dataset.watchedTask) { return; }
      var alert = document.createElement("div");
      alert.className = "alert alert-info alert-dismissible task-alert";
      alert.setAttribute("role", "status");
      alert.id = "task-" + task.task_id;
      alert.appendChild(document.createTextNode(body.dataset.exporting + " "));
      progress = document.createElement("span");
      progress.id = "task-" + task.task_id + "-progress";
      alert.appendChild(progress);
      alert.appendChild(document.createTextNode("%"));
      var close = document.createElement("button");
      close.type = "button";
      close.className = "btn-close";
      close.setAttribute("data-bs-dismiss", "alert");
      close.setAttribute("aria-label", body.dataset.close);
      alert.appendChild(close);
      var flashes = document.getElementById("flashes");
      flashes.parentNode.insertBefore(alert, flashes);
    }
    progress.textContent = task.progress;
  }
  function poll() {
    fetch("/notifications?since=" + encodeURIComponent(since), {
      credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (r) { return r.ok ? r.json() : []; }).then(function (rows) {
      rows.forEach(function (row) {
        since = Math.max(since, row.timestamp);
        if (row.name === "unread_message_count") { setBadge(row.data); }
        if (row.name === "task_progress") { setTaskProgress(row.data); }
      });
    }).catch(function () {}).then(function () {
      setTimeout(poll, (parseFloat(body.dataset.pollSeconds) || 10) * 1000);
    });
  }

  rememberTimeZone();
  watchAvatars(document);
  document.querySelectorAll("a.user-popup").forEach(setUpPopup);
  document.querySelectorAll("a.translate").forEach(function (a) { a.addEventListener("click", translate); });
  if (body.dataset.signedIn === "true") {
    setTimeout(poll, (parseFloat(body.dataset.pollSeconds) || 10) * 1000);
  }
})();
