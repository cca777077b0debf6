"""What the deck checks of ``make present`` measure in the live RISE page (shared by
test_stage.py and usable from a shell while tuning slides/template/stage/deck.css).

Sizes are what the screen shows: the computed font size times reveal.js's scale of
the slide (a transform below 1, CSS zoom above).
"""

from __future__ import annotations

from collections.abc import Iterator

# Resolves once the current slide has stopped moving (reveal.js's transition).
SETTLED = """() => new Promise(resolve => {
    let last = '', same = 0, frames = 0;
    const tick = () => {
        const all = document.querySelectorAll('.reveal .slides section.present');
        const rect = all.length ? JSON.stringify(all[all.length - 1].getBoundingClientRect()) : '';
        same = rect === last ? same + 1 : 0;
        last = rect;
        if (same >= 6 || ++frames > 600) resolve(true); else requestAnimationFrame(tick);
    };
    tick();
})"""

# The current slide: the smallest code and text sizes on it, and what overflows.
MEASURE_SLIDE = """() => {
    const slides = document.querySelector('.reveal .slides');
    const all = slides.querySelectorAll('section.present');
    const slide = all[all.length - 1];
    const screen = document.querySelector('.reveal').getBoundingClientRect();
    const zoom = parseFloat(getComputedStyle(slides).zoom) || 1;
    const scale = zoom * (slides.offsetHeight
        ? slides.getBoundingClientRect().height / (slides.offsetHeight * zoom) : 1);
    const shown = el => el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== 'hidden';
    const title = (slide.querySelector('h1, h2, h3') || slide).innerText.trim().slice(0, 50);
    const code = [], text = [], problems = [];
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!node.textContent.trim() || !shown(el)) continue;
        if (el.closest('.jp-InputPrompt, .jp-OutputPrompt, .jp-Placeholder, .jp-Cell-header, '
                       + '.jp-Cell-footer, .jp-Collapser, aside.notes')) continue;
        const px = parseFloat(getComputedStyle(el).fontSize) * scale;
        const what = node.textContent.trim().slice(0, 30);
        if (el.closest('.cm-editor, .jp-OutputArea-output, code, pre')) code.push([px, what]);
        else if (el.closest('.jp-RenderedMarkdown')) text.push([px, what]);
    }
    for (const cell of slide.querySelectorAll(':scope > .jp-Cell')) {
        if (!shown(cell)) continue;
        const r = cell.getBoundingClientRect();
        if (r.top < screen.top - 1 || r.bottom > screen.bottom + 1
                || r.left < screen.left - 1 || r.right > screen.right + 1)
            problems.push(`a cell at ${Math.round(r.left)},${Math.round(r.top)}-`
                          + `${Math.round(r.right)},${Math.round(r.bottom)} leaves the `
                          + `${Math.round(screen.width)}x${Math.round(screen.height)} screen`);
        // content wider or taller than its box must scroll there, not be cut off
        for (const el of [cell, ...cell.querySelectorAll('*')]) {
            if (!shown(el)) continue;
            const style = getComputedStyle(el);
            for (const [axis, over] of [['x', el.scrollWidth > el.clientWidth + 2],
                                        ['y', el.scrollHeight > el.clientHeight + 2]]) {
                const overflow = axis === 'x' ? style.overflowX : style.overflowY;
                if (over && (overflow === 'hidden' || overflow === 'clip')
                        && el.clientWidth > 0 && el.clientHeight > 0)
                    problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} `
                                  + `cuts its content off (${axis})`);
            }
        }
    }
    const smallest = list => list.reduce((a, b) => (b[0] < a[0] ? b : a), [Infinity, '']);
    return {title, scale, code: smallest(code), text: smallest(text), problems,
            id: slide.id, fragments: slide.querySelectorAll('.fragment.visible').length};
}"""


def settle(page) -> None:
    page.evaluate(SETTLED)


def walk(page, limit: int = 400) -> Iterator[dict]:
    """Measure the current slide, press Space (next fragment or slide), and so on to
    the end of the deck; one measurement per step."""
    seen: set[tuple[str, int]] = set()
    for _ in range(limit):
        settle(page)
        measured = page.evaluate(MEASURE_SLIDE)
        step = (measured["id"], measured["fragments"])
        if step in seen:
            return
        seen.add(step)
        yield measured
        page.keyboard.press("Space")
    raise AssertionError(f"the deck did not end within {limit} steps")
