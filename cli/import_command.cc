// The import command: validate the file, then stream it to the server in batches.
#include "cli/import_command.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/point_source.h"
#include "cli/progress_bar.h"
#include "cli/write_concern.h"

namespace meridian::cli {
namespace {

struct FileSummary {
  uint64_t points = 0;
  uint32_t dim = 0;
};

// The validation pass: reads every point, keeping only the count and dimension.
absl::StatusOr<FileSummary> validate_file(const ImportArgs& args) {
  absl::StatusOr<std::unique_ptr<PointSource>> source =
      open_point_source(args.file, args.first_id, args.first_id_given);
  if (!source.ok()) return source.status();
  FileSummary summary;
  std::vector<client::PointData> batch;
  while (true) {
    batch.clear();
    absl::StatusOr<size_t> n = (*source)->read(args.batch, batch);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (summary.points == 0) summary.dim = static_cast<uint32_t>(batch[0].vector.size());
    summary.points += *n;
  }
  return summary;
}

std::string format_rate(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f", value);
  return buffer;
}

}  // namespace

absl::Status run_import(client::Client& client, const ImportArgs& args, std::ostream& out,
                        std::ostream& err, bool progress) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<client::CollectionInfo> info = client.collection_info(args.collection);
  if (!info.ok()) return info.status();

  absl::StatusOr<FileSummary> file = validate_file(args);
  if (!file.ok()) return file.status();
  if (file->points == 0)
    return absl::InvalidArgumentError(absl::StrCat(args.file, " holds no points"));
  if (file->dim != info->config.dim) {
    return absl::InvalidArgumentError(absl::StrCat(args.file, " has vectors of dimension ",
                                                   file->dim, " but collection ", args.collection,
                                                   " has dimension ", info->config.dim));
  }

  absl::StatusOr<std::unique_ptr<PointSource>> source =
      open_point_source(args.file, args.first_id, args.first_id_given);
  if (!source.ok()) return source.status();
  ProgressBar bar(err, "importing", file->points, progress);
  uint64_t imported = 0;
  uint64_t unconfirmed = 0;  // batches whose write concern was not confirmed in time
  std::string last_note;
  std::vector<client::PointData> batch;
  while (true) {
    batch.clear();
    absl::StatusOr<size_t> n = (*source)->read(args.batch, batch);
    if (!n.ok()) return n.status();  // the file changed since validation
    if (*n == 0) break;
    absl::StatusOr<client::WriteResult> written =
        client.upsert(args.collection, batch, write_options(args.write));
    if (!written.ok()) {
      bar.finish();
      return absl::Status(written.status().code(),
                          absl::StrCat("batch of points ", imported, "..", imported + *n - 1,
                                       " failed after ", imported, " points were imported: ",
                                       std::string(written.status().message())));
    }
    if (auto note = unconfirmed_note(*written, args.write); !note.empty()) {
      ++unconfirmed;
      last_note = std::move(note);
    }
    imported += *n;
    bar.update(imported);
  }
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.2f", seconds);
  out << "imported " << imported << " vectors in " << elapsed << " s ("
      << format_rate(seconds > 0 ? static_cast<double>(imported) / seconds : 0) << " vectors/s)\n";
  if (unconfirmed > 0) {
    out << unconfirmed << " batches were not confirmed by --write-concern " << args.write.concern
        << "; the last: " << last_note << '\n';
  }
  return absl::OkStatus();
}

}  // namespace meridian::cli
