// The dashboard's only script: the filter box, keyboard shortcuts, and live updates. The server renders every
// page; an update is the page's body rendered again (server-sent events), swapped in without a reload.
const main = document.getElementById("main");
const filter = document.getElementById("filter");
const status = document.getElementById("live");

function applyFilter() {
  const q = (filter?.value ?? "").trim().toLowerCase();
  for (const el of document.querySelectorAll("[data-filter]")) {
    el.hidden = q !== "" && !el.getAttribute("data-filter").toLowerCase().includes(q);
  }
}

// Kept per page while the tab lives: a filter typed on the fleet does not hide rows of an instance opened from it.
const filterKey = `scadalink-filter:${location.pathname}`;
if (filter) {
  filter.value = sessionStorage.getItem(filterKey) ?? "";
  filter.addEventListener("input", () => {
    sessionStorage.setItem(filterKey, filter.value);
    applyFilter();
  });
  applyFilter();
}

document.addEventListener("keydown", (e) => {
  const typing = e.target instanceof HTMLInputElement;
  if (e.key === "/" && !typing && filter) {
    e.preventDefault();
    filter.focus();
  } else if (e.key === "Escape" && typing && filter) {
    filter.value = "";
    filter.dispatchEvent(new Event("input"));
    filter.blur();
  }
});

const live = document.body.dataset.live;
if (live && main && "EventSource" in window) {
  const events = new EventSource(`/api/events?page=${encodeURIComponent(live)}`);
  events.addEventListener("body", (e) => {
    const { html } = JSON.parse(e.data);
    // Keep the focused link focused across the swap (keyboard users stay where they were).
    const focused = document.activeElement?.getAttribute?.("href");
    main.innerHTML = html;
    applyFilter();
    if (focused) main.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus();
    if (status) {
      status.textContent = `live · ${new Date().toLocaleTimeString()}`;
      status.className = "live";
    }
    document.dispatchEvent(new CustomEvent("scadalink:updated"));
  });
  events.addEventListener("error", () => {
    if (status) {
      status.textContent = "reconnecting…";
      status.className = "live warn";
    }
  });
}
