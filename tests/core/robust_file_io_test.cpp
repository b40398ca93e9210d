// write_file_atomic on outputs that cannot be written: no stray temporary file, no clobbered
// neighbour, the old file kept whole or replaced whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/core.h"
#include "support/fixtures.h"

namespace unmask {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(WriteFileAtomic, ReplacesAnExistingFileWhole) {
  testing::TempDir dir;
  const std::string path = dir.file("report.html");
  ASSERT_TRUE(write_file_atomic(path, std::string(5000, 'a')).is_ok());
  ASSERT_TRUE(write_file_atomic(path, "short").is_ok());
  auto back = read_file(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "short");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"report.html"});
}

TEST(WriteFileAtomic, OntoADirectoryFailsAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  fs::create_directory(dir.path() / "out.html");
  Status s = write_file_atomic(dir.file("out.html"), "<html></html>");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInput);
  EXPECT_NE(s.message().find("out.html"), std::string::npos) << s.message();
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.html"});  // no out.html.tmp beside it
  EXPECT_TRUE(fs::is_empty(dir.path() / "out.html"));
}

TEST(WriteFileAtomic, DoesNotClobberTheUsersTmpFile) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("model.unm.tmp"), "the user's own file").is_ok());
  ASSERT_TRUE(write_file_atomic(dir.file("model.unm"), "weights").is_ok());
  auto kept = read_file(dir.file("model.unm.tmp"));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "the user's own file");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"model.unm", "model.unm.tmp"}));
}

TEST(WriteFileAtomic, IntoAMissingFolderIsAnInputErrorNamingThePath) {
  testing::TempDir dir;
  const std::string path = dir.file("no/such/folder/r.json");
  Status s = write_file_atomic(path, "{}");
  EXPECT_EQ(s.code(), StatusCode::kInput);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(UniqueTemporaryPath, EveryCallGivesANewNameBesideTheBase) {
  const std::string a = unique_temporary_path("/tmp/out.mp4.partial");
  const std::string b = unique_temporary_path("/tmp/out.mp4.partial");
  EXPECT_NE(a, b);
  for (const std::string& name : {a, b}) EXPECT_EQ(name.rfind("/tmp/out.mp4.partial.", 0), 0u) << name;
}

TEST(WriteFileAtomic, KeepsTheUsualFileMode) {
  testing::TempDir dir;
  const std::string path = dir.file("r.txt");
  ASSERT_TRUE(write_file_atomic(path, "x").is_ok());
  const fs::perms p = fs::status(path).permissions();
  // Readable by the owner and, under the usual umask 022, by others: not mkstemp's 0600.
  EXPECT_NE(p & fs::perms::owner_read, fs::perms::none);
  EXPECT_NE(p & fs::perms::owner_write, fs::perms::none);
}

}  // namespace
}  // namespace unmask
