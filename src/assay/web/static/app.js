// assay web: client-side table sorting and the raw-record viewer. No dependencies, no inline code:
// the Content-Security-Policy allows scripts from /static only. Data is only ever put in the page
// with textContent, never innerHTML.
"use strict";

function sortValue(cell, type) {
  const raw = cell.getAttribute("data-sort");
  const text = raw === null ? cell.textContent.trim() : raw;
  if (type === "number") {
    const value = parseFloat(text);
    return Number.isNaN(value) ? null : value;
  }
  return text === "" ? null : text.toLowerCase();
}

function sortTable(table, columnIndex, type, direction) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const va = sortValue(a.cells[columnIndex], type);
    const vb = sortValue(b.cells[columnIndex], type);
    // Missing values stay at the bottom whatever the direction.
    if (va === null && vb === null) return 0;
    if (va === null) return 1;
    if (vb === null) return -1;
    const order = va < vb ? -1 : va > vb ? 1 : 0;
    return direction === "ascending" ? order : -order;
  });
  for (const row of rows) body.appendChild(row);
}

function makeSortable(table) {
  const headers = Array.from(table.tHead ? table.tHead.rows[0].cells : []);
  headers.forEach((header, columnIndex) => {
    const type = header.getAttribute("data-sort-type");
    if (!type) return;
    header.tabIndex = 0;
    const activate = () => {
      // Numbers start high-to-low (best score first), text A-to-Z; a second click reverses.
      const current = header.getAttribute("aria-sort");
      const first = type === "number" ? "descending" : "ascending";
      const next = current === null ? first : current === "ascending" ? "descending" : "ascending";
      headers.forEach((h) => h.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", next);
      sortTable(table, columnIndex, type, next);
    };
    header.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;  // task links in headers still navigate
      activate();
    });
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(); }
    });
  });
}

function setUpRawRecords() {
  const holder = document.getElementById("sample-data");
  if (!holder) return;
  let records = [];
  try { records = JSON.parse(holder.textContent); } catch (error) { return; }
  document.querySelectorAll("button.raw-toggle").forEach((button) => {
    button.addEventListener("click", () => {
      const target = button.nextElementSibling;
      const record = records[Number(button.getAttribute("data-index"))];
      if (target.hidden) target.textContent = JSON.stringify(record, null, 2);
      target.hidden = !target.hidden;
    });
  });
}

// A table wider than its box scrolls sideways inside it; scrollbars may be hidden until used, so a
// hint above the table says so while (and only while) it does not fit.
function setUpScrollHints() {
  document.querySelectorAll(".scroll-hint").forEach((hint) => {
    const wrap = hint.nextElementSibling;
    if (!wrap) return;
    const update = () => { hint.hidden = wrap.scrollWidth <= wrap.clientWidth; };
    update();
    window.addEventListener("resize", update);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  setUpScrollHints();
  setUpRawRecords();
});
