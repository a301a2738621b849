//! Shared by the examples: line charts in PNG files with plotters.
//!
//! Text is drawn with the bundled DejaVu Sans font (`assets/fonts/`) through plotters'
//! pure-Rust `ab_glyph` backend, so no system font library is needed.

#![allow(dead_code)]

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/DejaVu-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font as plotters' "sans-serif"; safe to call more than once.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType file"));
    });
}

/// The colours of successive series.
pub const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A named line of `(x, y)` points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One chart: a title, axis labels and its lines.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad)..(hi + pad)
}

/// Draws one chart into a drawing area.
pub fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let points = || panel.series.iter().flat_map(|s| s.points.iter());
    let x = range(points().map(|p| p.0));
    let y = range(points().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(("sans-serif", 14))
        .draw()?;
    for (i, s) in panel.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(s.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

/// Renders a PNG in memory, compresses it hard and writes it atomically (temporary file,
/// then rename), creating the folder if needed.
pub fn write_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<(), Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};

    register_font();
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Best, FilterType::Adaptive)
        .write_image(&pixels, size.0, size.1, image::ColorType::Rgb8)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    constnet::io::write_atomic(path, &png)?;
    Ok(())
}

/// Draws panels side by side into one PNG.
pub fn plot_panels(path: &Path, panels: &[Panel]) -> Result<(), Box<dyn Error>> {
    let width = 640 * panels.len() as u32;
    write_png(path, (width, 480), |root| {
        let areas = root.split_evenly((1, panels.len()));
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel)?;
        }
        Ok(())
    })
}

/// Parses `--out DIR`, `--epochs N` and `--seed N` (the options every lesson example takes), with
/// `default_epochs`; anything else is an error that lists them.
pub struct LessonOptions {
    pub out: std::path::PathBuf,
    pub epochs: usize,
    pub seed: u64,
}

pub fn lesson_options(
    default_epochs: usize,
    default_seed: u64,
) -> Result<LessonOptions, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = LessonOptions {
        out: std::path::PathBuf::from("target/plots"),
        epochs: default_epochs,
        seed: default_seed,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("out") => o.out = parser.value()?.into(),
            Long("epochs") => o.epochs = parser.value()?.parse()?,
            Long("seed") => o.seed = parser.value()?.parse()?,
            Short('h') | Long("help") => {
                println!(
                    "Options:\n  --out DIR     where to write the PNG files [default: target/plots]\n  \
                     --epochs N    training epochs [default: {default_epochs}]\n  \
                     --seed N      seed of the data and the initial weights [default: {default_seed}]"
                );
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(o)
}

/// Runs `body`, printing an error and exiting with status 1 if it fails.
pub fn exit_on_error(body: impl FnOnce() -> Result<(), Box<dyn Error>>) -> std::process::ExitCode {
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Mixes two colours: `t = 0` gives `a`, `t = 1` gives `b`.
pub fn mix(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let m = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// A two-class map: the probability of class 1 over a grid as a shaded background (light
/// blue for class 0 through white to light orange for class 1), with points drawn on top.
pub struct DecisionMap<'a> {
    pub title: String,
    pub x_range: std::ops::Range<f64>,
    pub y_range: std::ops::Range<f64>,
    /// Probability of class 1 at a point.
    pub probability: &'a dyn Fn(f64, f64) -> f64,
    /// Training points and their classes (filled circles).
    pub train: Vec<(f64, f64, usize)>,
    /// Test points and their classes (crosses).
    pub test: Vec<(f64, f64, usize)>,
}

pub fn draw_decision_map<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    map: &DecisionMap<'_>,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    const CELLS: usize = 120;
    let mut chart = ChartBuilder::on(area)
        .caption(&map.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(map.x_range.clone(), map.y_range.clone())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(("sans-serif", 13))
        .draw()?;
    let (x0, x1) = (map.x_range.start, map.x_range.end);
    let (y0, y1) = (map.y_range.start, map.y_range.end);
    let (dx, dy) = ((x1 - x0) / CELLS as f64, (y1 - y0) / CELLS as f64);
    let light = [RGBColor(160, 196, 230), RGBColor(250, 200, 150)];
    chart.draw_series((0..CELLS * CELLS).map(|k| {
        let (i, j) = (k % CELLS, k / CELLS);
        let (x, y) = (x0 + (i as f64 + 0.5) * dx, y0 + (j as f64 + 0.5) * dy);
        // Ten bands of probability: they read like contour lines (and compress well).
        let p = ((map.probability)(x, y) * 10.0).floor().clamp(0.0, 9.0) / 9.0;
        // Through white at p = 0.5, so the boundary shows as the palest band.
        let colour = if p < 0.5 {
            mix(light[0], WHITE, p * 2.0)
        } else {
            mix(WHITE, light[1], (p - 0.5) * 2.0)
        };
        let (cx, cy) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
        Rectangle::new([(cx, cy), (cx + dx, cy + dy)], colour.filled())
    }))?;
    let strong = [COLOURS[0], COLOURS[1]];
    chart.draw_series(
        map.train
            .iter()
            .map(|&(x, y, c)| Circle::new((x, y), 4, strong[c.min(1)].filled())),
    )?;
    chart.draw_series(
        map.train
            .iter()
            .map(|&(x, y, _)| Circle::new((x, y), 4, BLACK.stroke_width(1))),
    )?;
    chart.draw_series(
        map.test
            .iter()
            .map(|&(x, y, c)| Cross::new((x, y), 5, strong[c.min(1)].stroke_width(3))),
    )?;
    Ok(())
}
