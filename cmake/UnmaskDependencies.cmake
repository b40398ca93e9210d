# Every third-party dependency is found here, once, and exposed as an imported target.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET
  libavformat libavcodec libavutil libswscale libswresample)
add_library(unmask::ffmpeg ALIAS PkgConfig::FFMPEG)
# libjpeg-turbo (libjpeg62-turbo-dev): JPEG re-encoding in memory (media::jpeg_round_trip).
pkg_check_modules(LIBJPEG REQUIRED IMPORTED_TARGET libjpeg)
add_library(unmask::jpeg ALIAS PkgConfig::LIBJPEG)

find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)

if(UNMASK_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

# ---------------------------------------------------------------------------------------------
# Vision: OpenCV 4.6 (libopencv-dev) and dlib 19.24 (libdlib-dev). Used privately by face (and by
# any component doing pixel work: mark, synth). Exposed as unmask::opencv and unmask::dlib.
# ---------------------------------------------------------------------------------------------
# OpenCV's image codecs (imgcodecs) are not linked into unmask: through GDAL they brought ~75
# libraries it loads for nothing else (246 -> 170), whose dynamic linking cost ~0.06 s at every
# start of the program. Images go through FFmpeg and libjpeg-turbo (media); benches and tests
# that write pictures with cv::imwrite, or check media against cv::imencode, link
# unmask::opencv_imgcodecs.
if(NOT TARGET unmask::opencv)
  find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs video calib3d objdetect photo)
  add_library(unmask_opencv INTERFACE)
  target_link_libraries(unmask_opencv INTERFACE opencv_core opencv_imgproc opencv_video opencv_calib3d
                        opencv_objdetect opencv_photo)
  target_include_directories(unmask_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
  add_library(unmask::opencv ALIAS unmask_opencv)
  add_library(unmask_opencv_imgcodecs INTERFACE)
  target_link_libraries(unmask_opencv_imgcodecs INTERFACE unmask_opencv opencv_imgcodecs)
  add_library(unmask::opencv_imgcodecs ALIAS unmask_opencv_imgcodecs)
endif()
if(NOT TARGET unmask::dlib)
  # Debian ships dlibConfig.cmake (imported target dlib::dlib); fall back to pkg-config dlib-1.
  find_package(dlib 19.24 QUIET CONFIG)
  add_library(unmask_dlib INTERFACE)
  if(TARGET dlib::dlib)
    target_link_libraries(unmask_dlib INTERFACE dlib::dlib)
  else()
    pkg_check_modules(DLIB REQUIRED IMPORTED_TARGET dlib-1)
    target_link_libraries(unmask_dlib INTERFACE PkgConfig::DLIB)
  endif()
  add_library(unmask::dlib ALIAS unmask_dlib)
  # The 68-point landmark model from libdlib-data; components take it as a default path only.
  set(UNMASK_DLIB_LANDMARK_MODEL /usr/share/dlib/shape_predictor_68_face_landmarks.dat
      CACHE FILEPATH "dlib 68-point shape predictor (package libdlib-data)")
endif()

# ---------------------------------------------------------------------------------------------
# Signatures: libsodium (libsodium-dev), Ed25519 for keygen and signed manifests. Used privately
# by sign. Exposed as unmask::sodium.
# ---------------------------------------------------------------------------------------------
if(NOT TARGET unmask::sodium)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
  add_library(unmask::sodium ALIAS PkgConfig::SODIUM)
endif()

# ---------------------------------------------------------------------------------------------
# Neural networks: LibTorch 1.13 CPU (libtorch-dev). Used privately by nn (learn reaches it only
# through nn's API). Debian installs TorchConfig.cmake in /usr/lib/<multiarch>/cmake/Torch.
# Exposed as unmask::torch (carries -D_GLIBCXX_USE_CXX11_ABI=1 from the imported targets).
# ---------------------------------------------------------------------------------------------
if(NOT TARGET unmask::torch)
  find_package(Torch 1.13 REQUIRED CONFIG
    HINTS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
  add_library(unmask_torch INTERFACE)
  target_link_libraries(unmask_torch INTERFACE ${TORCH_LIBRARIES})
  add_library(unmask::torch ALIAS unmask_torch)
endif()

# ---------------------------------------------------------------------------------------------
# Speech synthesis: espeak-ng (libespeak-ng-dev), used privately by synth (dubbing).
# ---------------------------------------------------------------------------------------------
pkg_check_modules(ESPEAK_NG REQUIRED IMPORTED_TARGET espeak-ng)
add_library(unmask_espeak INTERFACE)
target_link_libraries(unmask_espeak INTERFACE PkgConfig::ESPEAK_NG)
add_library(unmask::espeak ALIAS unmask_espeak)
