"""thongke: district statistics pipelines for Hải Phòng's programme."""
