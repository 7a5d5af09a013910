/** Validation reports: one run (validate), its JSON + HTML + PNG overlays (writeValidationReport). */
export { DEFAULT_VALIDATION_THRESHOLDS, REPORT_FORMAT, REPORT_VERSION, validate } from './validate.ts';
export type { ImageMetrics, InputInfo, ReportComparison, ReportFinding, TissueMaeRow, ValidationInput, ValidationReport, ValidationRun, ValidationThresholds } from './validate.ts';
export { DEFAULT_LABEL_THRESHOLDS, labelStructures } from './label-structures.ts';
export type { LabelStructure, LabelStructureThresholds, LabelStructuresInput } from './label-structures.ts';
export { DEFAULT_MAX_IMAGES, DIFFERENCE_WINDOW_HU, renderFindingOverlay, renderOverviewOverlay, reportPanels, writeValidationReport } from './write-report.ts';
export type { OverlayRenderOptions, WriteReportOptions, WrittenReport } from './write-report.ts';
export { greyPanel, renderOverlay, TINT_ALPHA, TINTS, VIEWS } from './overlay.ts';
export type { Overlay, OverlayOptions, OverlayPanel, OverlayRegion, OverlayTile, Rgb, View } from './overlay.ts';
export { escapeHtml, renderReportHtml } from './report-html.ts';
export type { ReportHtmlOptions } from './report-html.ts';
