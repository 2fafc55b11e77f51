import { writeFileSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface CurvePoint {
  megabytes: number;
  seconds: number;
  peakRssMb: number;
}

/**
 * The scaling curve as a PNG: export time and peak RSS against CSV size (log scales), drawn
 * by Vega-Lite (SVG) and rasterised by resvg, so no browser or native canvas is needed.
 */
export async function renderScalingCurve(
  points: readonly CurvePoint[],
  pngPath: string,
): Promise<void> {
  const sizeAxis = {
    field: "megabytes",
    type: "quantitative",
    title: "CSV size (MB, log scale)",
    scale: { type: "log" },
    axis: { values: points.map((p) => p.megabytes), format: "~s" },
  } as const;
  const panel = (field: string, title: string, color: string, logY: boolean, goal?: number) => ({
    width: 360,
    height: 260,
    layer: [
      {
        mark: { type: "line", point: { size: 60, filled: true, color }, color, strokeWidth: 2.5 },
        encoding: {
          x: sizeAxis,
          y: {
            field,
            type: "quantitative",
            title,
            scale: logY ? { type: "log" } : { zero: true },
          },
        },
      },
      {
        mark: { type: "text", dx: 6, dy: -12, align: "left", fontSize: 11, color: "#333" },
        encoding: {
          x: sizeAxis,
          y: { field, type: "quantitative" },
          text: { field, type: "quantitative", format: ".1f" },
        },
      },
      ...(goal === undefined
        ? []
        : [
            {
              data: { values: [{ goal }] },
              mark: { type: "rule", strokeDash: [6, 4], color: "#c0392b" },
              encoding: { y: { field: "goal", type: "quantitative" } },
            },
            {
              data: { values: [{ goal, label: `goal ≤ ${goal} MB` }] },
              mark: { type: "text", align: "left", dx: 4, dy: -6, color: "#c0392b", x: 0 },
              encoding: { y: { field: "goal", type: "quantitative" }, text: { field: "label" } },
            },
          ]),
    ],
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "wavy-sessions export: wall time and peak RSS against CSV size",
      subtitle: "median of runs per size; CSV streamed Wavy simulator → export → local S3",
      fontSize: 15,
    },
    background: "white",
    padding: 16,
    data: { values: points },
    hconcat: [
      // Log-log: a straight line of slope 1 is time proportional to size.
      panel("seconds", "export wall time (s, log scale)", "#2c7fb8", true),
      panel("peakRssMb", "peak RSS of the export process (MB)", "#d95f0e", false, 200),
    ],
    config: { font: "DejaVu Sans", axis: { labelFontSize: 11, titleFontSize: 12 } },
  } as unknown as TopLevelSpec;

  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  const png = new Resvg(svg, {
    fitTo: { mode: "zoom", value: 2 },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  })
    .render()
    .asPng();
  writeFileSync(pngPath, png);
}
