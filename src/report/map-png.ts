/**
 * `trackfs map --png`: the SVG map converted by rsvg-convert (librsvg), so the PNG is the same
 * picture as the SVG, text included, with no image code of trackfs's own. The SVG goes in on
 * stdin and the PNG comes out on stdout: no path is on its command line.
 */
import { runTool } from '../util/run-tool.js';

const CONVERT_TIMEOUT_MS = 60_000;

export function svgToPng(svg: string): Promise<Buffer> {
  return runTool('rsvg-convert', ['--format', 'png', '--background-color', 'white'], {
    input: svg,
    timeoutMs: CONVERT_TIMEOUT_MS,
    missing: '--png needs rsvg-convert (Debian/Ubuntu: apt-get install librsvg2-bin); --svg works without it',
  });
}
