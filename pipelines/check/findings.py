"""Findings: what is wrong in a submission, where, and what to do about it."""
from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR, WARNING = "error", "warning"

# Rule id -> (severity, short Vietnamese description). FORM.md section 3.
RULES: dict[str, tuple[str, str]] = {
    "R01": (ERROR, "Giá trị không đúng kiểu"),
    "R02": (ERROR, "Ô bắt buộc bị để trống"),
    "R03": (ERROR, "Dòng đơn vị không hợp lệ hoặc bị lặp"),
    "R04": (ERROR, "Thiếu đơn vị trong biểu"),
    "R05": (ERROR, "Trang bìa thiếu hoặc sai đơn vị, kỳ báo cáo"),
    "R06": (ERROR, "Thiếu biểu"),
    "R07": (ERROR, "Hộ nghèo cuối kỳ không cân đối"),
    "R08": (ERROR, "Số hộ nghèo, cận nghèo vượt tổng số"),
    "R09": (ERROR, "Chỉ tiêu thành phần lớn hơn chỉ tiêu tổng"),
    "R10": (ERROR, "Năm công nhận sau kỳ báo cáo"),
    "R11": (WARNING, "Xã được công nhận NTM nhưng chưa đạt đủ 19 tiêu chí"),
    "R12": (WARNING, "Chuẩn văn minh đô thị và năm công nhận không khớp"),
    "R13": (WARNING, "Dòng tổng cộng khác tổng các đơn vị"),
    "R14": (WARNING, "Hộ nghèo đầu năm khác hộ nghèo cuối năm trước"),
    "R15": (WARNING, "Giá trị bất thường"),
    "R16": (WARNING, "Số liệu cả năm nhỏ hơn 6 tháng"),
    "R17": (WARNING, "Kinh phí bình quân một nhà bất thường"),
    "R18": (ERROR, "Không đọc được tệp"),
    "R19": (WARNING, "Mã và tên đơn vị không khớp"),
}

FINDING_COLUMNS = ["file", "district_code", "sheet", "cell", "rule", "severity", "value", "message"]


@dataclass(frozen=True)
class Finding:
    file: str
    district_code: str
    sheet: str
    cell: str
    rule: str
    severity: str
    value: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_row(self) -> dict[str, str]:
        return asdict(self)


def finding(rule: str, message: str, *, file: str = "", district_code: str = "", sheet: str = "",
            cell: str = "", value: object = "") -> Finding:
    """A finding with the rule's own severity."""
    return Finding(file=file, district_code=district_code or "", sheet=sheet, cell=cell,
                   rule=rule, severity=RULES[rule][0], value=display_value(value),
                   message=message)


def display_value(value: object) -> str:
    """How a cell's value is shown in findings: as typed, numbers without a stray `.0`."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


